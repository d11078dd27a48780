import MailSystem

/// A client exchange run by libsasl2 (`sasl_client_start` and `sasl_client_step`), for smart hosts
/// that need a mechanism only a libsasl2 plugin provides, or to check MailAuth against Cyrus.
///
/// The credentials reach libsasl2 through its USER, AUTHNAME, PASS and GETREALM callbacks, from
/// memory this value owns and overwrites when done. Client plugins for password mechanisms do not
/// block; a network-backed plugin (GSSAPI) may, so ``step(_:)`` runs on libsasl2's worker pool.
public struct CyrusSASLClientMechanism: SASLClientMechanism {
    private enum State {
        case initial
        case running
        case complete
        case done
    }

    public let name: SASLMechanismName
    private let connection: CyrusSASLConnection
    private var state = State.initial

    /// A client exchange of `mechanism` with `credentials` against `serverName` (the host name, which
    /// DIGEST-MD5 puts in `digest-uri`).
    ///
    /// - Throws: ``SASLError/Kind/mechanismUnavailable`` when libsasl2 has no client plugin for it.
    public init(
        mechanism: SASLMechanismName, credentials: SASLClientCredentials, serverName: String, service: String = "smtp"
    ) throws(SASLError) {
        name = mechanism
        do {
            connection = try CyrusSASLConnection.client(
                service: service, serverName: serverName, credentials: credentials,
                options: CyrusSASLOptions(["mech_list": mechanism.rawValue]))
        } catch {
            throw SASLError(.mechanismUnavailable, "libsasl2 cannot make a client connection", mechanism: mechanism, underlyingError: error)
        }
    }

    public mutating func start() throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            state = .done
            switch connection.clientStart(mechanism: name.rawValue) {
            case .continuing(let output):
                state = .running
                // libsasl2 gives no buffer when the mechanism waits for the server's challenge.
                return output
            case .complete(let output):
                state = .complete
                return output ?? []
            case .failed(let error):
                throw CyrusSASLServer.error(error, mechanism: name)
            }
        case .running, .complete, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: name)
        }
    }

    /// The response to the server's challenge, computed by `sasl_client_step` on libsasl2's pool
    /// (`WorkerPool.libsasl2`: a plugin may block); ``SASLError/Kind/temporaryFailure`` when the
    /// pool is full or late.
    public mutating func step(_ challenge: [UInt8]) async throws(SASLError) -> [UInt8] {
        switch state {
        case .running:
            state = .done
            let connection = connection
            let outcome = try await WorkerPool.libsasl2.authenticationWork(mechanism: name) { connection.clientStep(challenge) }
            switch outcome {
            case .continuing(let output):
                state = .running
                return output ?? []
            case .complete(let output):
                state = .complete
                return output ?? []
            case .failed(let error):
                throw CyrusSASLServer.error(error, mechanism: name).asServerAuthenticationFailure
            }
        case .initial, .complete, .done:
            state = .done
            throw SASLError(.malformed, "the server sent an unexpected challenge", mechanism: name)
        }
    }

    public mutating func finish(additionalData: [UInt8]?) throws(SASLError) {
        switch state {
        case .complete:
            state = .done
        case .running:
            state = .done
            guard let additionalData else {
                throw SASLError(.serverAuthenticationFailed, "the server reported success before libsasl2 completed", mechanism: name)
            }
            switch connection.clientStep(additionalData) {
            case .complete:
                return
            case .continuing:
                throw SASLError(.serverAuthenticationFailed, "libsasl2 expects more from the server", mechanism: name)
            case .failed(let error):
                throw CyrusSASLServer.error(error, mechanism: name).asServerAuthenticationFailure
            }
        case .initial, .done:
            state = .done
            throw SASLError(.serverAuthenticationFailed, "the server reported success too early", mechanism: name)
        }
    }
}

extension SASLError {
    /// On the client, libsasl2's authentication failures mean the server did not prove itself.
    fileprivate var asServerAuthenticationFailure: SASLError {
        kind == .authenticationFailed
            ? SASLError(.serverAuthenticationFailed, message, mechanism: mechanism, underlyingError: underlyingError)
            : self
    }
}
