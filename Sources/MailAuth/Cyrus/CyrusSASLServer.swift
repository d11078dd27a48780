internal import CSASL
public import MailSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bridge to Cyrus SASL (libsasl2) on the server side, so that an existing sasldb2 (made by
/// `saslpasswd2`), saslauthd with PAM, or any installed libsasl2 plugin authenticates SwiftMTA's
/// users unchanged.
///
/// It is two things:
/// - a ``SASLServerBackend``: libsasl2 runs the whole exchange (`sasl_server_new`,
///   `sasl_server_start`, `sasl_server_step`) for every mechanism its plugins provide;
/// - a ``SASLCredentialVerifier``: `sasl_checkpass`, so MailAuth's native PLAIN and LOGIN can check
///   passwords against the same store.
///
/// Everything libsasl2 needs comes from ``Configuration`` through a per-connection GETOPT callback
/// (`sasldb_path`, `pwcheck_method`, `mech_list`, …); the system's `/etc/sasldb2` is never used
/// unless named there.
///
/// ## Threads
/// `sasl_server_start`, `sasl_server_step` and `sasl_checkpass` block: a sasldb2 read touches the
/// disk, saslauthd answers over a socket, and PAM may sleep seconds after a wrong password. The
/// async entry points (``CyrusSASLServerMechanism``'s `start`/`step`, ``verifyPassword(_:for:)``)
/// therefore run those calls on a `WorkerPool` of libsasl2's own (``threadPool``,
/// `WorkerPool.Configuration.libsasl2` unless given another) and suspend the caller, so neither
/// an event-loop thread nor Swift's cooperative pool ever waits on libsasl2. The pool is bounded:
/// when its threads all wait on a slow saslauthd or PAM and its queue is full, or a call is not
/// answered within its deadline, the exchange fails at once with
/// ``SASLError/Kind/temporaryFailure`` instead of waiting. Creating the server and
/// ``makeMechanism(_:context:)`` only allocate and do not block.
public struct CyrusSASLServer: SASLServerBackend, SASLCredentialVerifier {
    /// The configuration in force.
    public let configuration: Configuration
    /// The mechanisms libsasl2 offers under this configuration, as `sasl_listmech` reports them.
    public let mechanisms: [SASLMechanismName]
    /// Where libsasl2's blocking calls run.
    public let threadPool: WorkerPool
    private let options: CyrusSASLOptions

    /// A server bridge whose blocking libsasl2 calls run on `threadPool`.
    ///
    /// - Throws: ``SASLError/Kind/configuration`` when the sasldb2 file named for `auxprop` is
    ///   missing or unreadable (with the path and the system's reason), or when libsasl2 cannot
    ///   start (the underlying ``CyrusSASLError`` is attached).
    public init(configuration: Configuration, threadPool: WorkerPool = .libsasl2) throws(SASLError) {
        let resolved = configuration.resolvedOptions
        let auxiliaryStores = (resolved["auxprop_plugin"] ?? "").split(separator: " ")
        if configuration.passwordCheck.contains(.auxprop), auxiliaryStores.isEmpty {
            throw SASLError(.configuration, "Cyrus SASL: pwcheck_method auxprop needs a sasldb_path")
        }
        if auxiliaryStores.contains(where: { $0.lowercased() == "sasldb" }) {
            let path = resolved["sasldb_path"] ?? Configuration.noSasldbPath
            guard path != Configuration.noSasldbPath else {
                throw SASLError(.configuration, "Cyrus SASL: auxprop_plugin sasldb needs a sasldb_path")
            }
            guard access(path, R_OK) == 0 else {
                throw SASLError(.configuration, "Cyrus SASL: sasldb \(path): \(String(cString: strerror(errno)))")
            }
        }
        self.configuration = configuration
        self.threadPool = threadPool
        options = CyrusSASLOptions(resolved)
        do {
            let probe = try CyrusSASLConnection.server(
                service: configuration.service, serverName: configuration.serverName,
                userRealm: configuration.userRealm, options: options, context: SASLServerContext())
            mechanisms = try probe.listMechanisms().compactMap { SASLMechanismName($0) }
        } catch {
            throw SASLError(.configuration, "Cyrus SASL cannot start: \(error)", underlyingError: error)
        }
    }

    public func makeMechanism(_ mechanism: SASLMechanismName, context: SASLServerContext) throws(SASLError)
        -> any SASLServerMechanism
    {
        guard mechanisms.contains(mechanism) else {
            throw SASLError(.mechanismUnavailable, "libsasl2 does not offer \(mechanism)", mechanism: mechanism)
        }
        do {
            let connection = try CyrusSASLConnection.server(
                service: configuration.service, serverName: configuration.serverName,
                userRealm: configuration.userRealm, options: options, context: context)
            return CyrusSASLServerMechanism(name: mechanism, connection: connection, threadPool: threadPool)
        } catch {
            throw SASLError(.temporaryFailure, "libsasl2 cannot make a connection", mechanism: mechanism, underlyingError: error)
        }
    }

    /// Checks a password with `sasl_checkpass` on ``threadPool`` (it may block).
    ///
    /// - Throws: ``SASLError/Kind/temporaryFailure`` when the pool is full or the check is late,
    ///   and libsasl2's errors.
    public func verifyPassword(_ password: SASLSecret, for authenticationIdentity: String) async throws -> Bool {
        // libsasl2 would cut a password at its first NUL.
        guard !password.isEmpty, !password.bytes.contains(0) else { return false }
        let configuration = configuration
        let options = options
        return try await threadPool.authenticationWork {
            Result { () throws(CyrusSASLError) -> Bool in
                let connection = try CyrusSASLConnection.server(
                    service: configuration.service, serverName: configuration.serverName,
                    userRealm: configuration.userRealm, options: options, context: SASLServerContext())
                return try connection.checkPassword(user: authenticationIdentity, password: password.bytes)
            }
        }.get()
    }

    /// libsasl2 hands out no stored secrets: challenge-response mechanisms run inside it instead.
    public func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
        []
    }

    /// The ``SASLError`` for a libsasl2 failure, by its result code.
    static func error(_ error: CyrusSASLError, mechanism: SASLMechanismName) -> SASLError {
        let kind: SASLError.Kind
        switch error.code {
        case SASL_BADAUTH, SASL_NOUSER, SASL_NOVERIFY, SASL_EXPIRED, SASL_DISABLED, SASL_TRANS, SASL_WEAKPASS:
            kind = .authenticationFailed
        case SASL_NOAUTHZ:
            kind = .authorizationFailed
        case SASL_BADPROT, SASL_BADPARAM, SASL_BADMAC, SASL_BADSERV:
            kind = .malformed
        case SASL_NOMECH, SASL_TOOWEAK, SASL_ENCRYPT:
            kind = .mechanismUnavailable
        default:
            kind = .temporaryFailure
        }
        return SASLError(kind, "libsasl2: \(error)", mechanism: mechanism, underlyingError: error)
    }
}
