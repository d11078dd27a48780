internal import CSASL
import MailSystem

/// One server exchange run by libsasl2 (`sasl_server_start` and `sasl_server_step`), made by
/// ``CyrusSASLServer/makeMechanism(_:context:)``.
///
/// Each call runs libsasl2 on the server's ``CyrusSASLServer/threadPool`` and suspends the caller
/// meanwhile (libsasl2 may block on sasldb2, saslauthd or PAM); a pool that is full or late fails
/// the exchange with ``SASLError/Kind/temporaryFailure``. libsasl2 sends any final server data (SCRAM's `v=`,
/// DIGEST-MD5's `rspauth`) as a last challenge and completes on the client's empty response, so
/// success never carries additional data.
public struct CyrusSASLServerMechanism: SASLServerMechanism {
    private enum State {
        case initial
        case running
        case done
    }

    public let name: SASLMechanismName
    private let connection: CyrusSASLConnection
    private let threadPool: WorkerPool
    private let limits: SASLLimits
    private var state = State.initial
    private var messages = 0

    init(name: SASLMechanismName, connection: CyrusSASLConnection, threadPool: WorkerPool, limits: SASLLimits = .default) {
        self.name = name
        self.connection = connection
        self.threadPool = threadPool
        self.limits = limits
    }

    public mutating func start(initialResponse: [UInt8]?) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .initial:
            state = .done
            if let initialResponse { try count(initialResponse) }
            let connection = connection
            let mechanism = name.rawValue
            let outcome = try await threadPool.authenticationWork(mechanism: name) {
                connection.serverStart(mechanism: mechanism, input: initialResponse)
            }
            return try handle(outcome)
        case .running, .done:
            state = .done
            throw SASLError(.invalidState, "the exchange has already started", mechanism: name)
        }
    }

    public mutating func step(_ response: [UInt8]) async throws(SASLError) -> SASLServerStep {
        switch state {
        case .running:
            state = .done
            try count(response)
            let connection = connection
            let outcome = try await threadPool.authenticationWork(mechanism: name) { connection.serverStep(response) }
            return try handle(outcome)
        case .initial, .done:
            state = .done
            throw SASLError(.invalidState, "no challenge is outstanding", mechanism: name)
        }
    }

    private mutating func count(_ message: [UInt8]) throws(SASLError) {
        messages += 1
        guard messages <= limits.maximumSteps else {
            throw SASLError(.malformed, "the client sent more than \(limits.maximumSteps) messages", mechanism: name)
        }
        guard message.count <= limits.maximumMessageLength else {
            throw SASLError(
                .malformed, "a client message of \(message.count) octets exceeds the limit of \(limits.maximumMessageLength)",
                mechanism: name)
        }
    }

    private mutating func handle(_ outcome: CyrusSASLConnection.Outcome) throws(SASLError) -> SASLServerStep {
        switch outcome {
        case .continuing(let output):
            state = .running
            return .challenge(output ?? [])
        case .complete(let output):
            state = .done
            let authorization = connection.stringProperty(SASL_USERNAME) ?? ""
            let authentication = connection.stringProperty(SASL_AUTHUSER) ?? authorization
            let outcome = SASLAuthentication(
                mechanism: name, authenticationIdentity: authentication, authorizationIdentity: authorization)
            return .success(outcome, additionalData: output.flatMap { $0.isEmpty ? nil : $0 })
        case .failed(let error):
            state = .done
            throw CyrusSASLServer.error(error, mechanism: name)
        }
    }
}
