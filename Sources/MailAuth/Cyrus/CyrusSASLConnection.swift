internal import CSASL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libsasl2 connection (`sasl_conn_t`), server or client side, with the callback list and the
/// objects its callbacks read; everything is freed in `deinit`.
///
/// A connection is used by one thread at a time (the mechanism that owns it awaits each call).
/// Server calls can block (saslauthd, PAM, a sasldb read): callers run them on
/// ``CyrusSASLServer/threadPool``.
final class CyrusSASLConnection: @unchecked Sendable {
    /// What a start or step call returned.
    enum Outcome {
        case complete(output: [UInt8]?)
        /// `output` is `nil` when libsasl2 gave no buffer (a client mechanism that waits for the
        /// server's first challenge), and empty when it gave an empty one.
        case continuing(output: [UInt8]?)
        case failed(CyrusSASLError)
    }

    private var connection: OpaquePointer?
    private let callbacks: UnsafeMutablePointer<sasl_callback_t>
    private let callbackCount: Int
    private let options: CyrusSASLOptions
    private let secrets: CyrusSASLClientSecrets?

    private init(
        callbacks list: [sasl_callback_t], options: CyrusSASLOptions, secrets: CyrusSASLClientSecrets?
    ) {
        callbackCount = list.count + 1
        callbacks = .allocate(capacity: callbackCount)
        callbacks.initialize(from: list + [swiftmta_sasl_callback_end()], count: callbackCount)
        self.options = options
        self.secrets = secrets
    }

    deinit {
        if connection != nil { sasl_dispose(&connection) }
        callbacks.deinitialize(count: callbackCount)
        callbacks.deallocate()
    }

    /// A server connection (`sasl_server_new`) configured by `options` through GETOPT.
    static func server(
        service: String, serverName: String, userRealm: String?, options: CyrusSASLOptions, context: SASLServerContext
    ) throws(CyrusSASLError) -> CyrusSASLConnection {
        try CyrusSASL.initialize()
        let optionsContext = Unmanaged.passUnretained(options).toOpaque()
        let result = CyrusSASLConnection(
            callbacks: [
                swiftmta_sasl_callback_getopt(CyrusSASLOptions.getopt, optionsContext),
                swiftmta_sasl_callback_log(CyrusSASLOptions.log, nil),
            ],
            options: options, secrets: nil)
        let code = sasl_server_new(
            service, serverName, userRealm, context.localAddress, context.remoteAddress, result.callbacks, 0,
            &result.connection)
        guard code == SASL_OK, result.connection != nil else {
            throw CyrusSASLError(code: code, operation: "sasl_server_new")
        }
        // No security layer: SMTP sessions are protected by TLS, so DIGEST-MD5 offers qop=auth only.
        var properties = sasl_security_properties_t(
            min_ssf: 0, max_ssf: 0, maxbufsize: 0, security_flags: 0, property_names: nil, property_values: nil)
        try result.check(sasl_setprop(result.connection, SASL_SEC_PROPS, &properties), "sasl_setprop(SASL_SEC_PROPS)")
        if context.isSecure {
            var external: sasl_ssf_t = 256
            try result.check(sasl_setprop(result.connection, SASL_SSF_EXTERNAL, &external), "sasl_setprop(SASL_SSF_EXTERNAL)")
        }
        if let identity = context.externalIdentity {
            try result.check(sasl_setprop(result.connection, SASL_AUTH_EXTERNAL, identity), "sasl_setprop(SASL_AUTH_EXTERNAL)")
        }
        return result
    }

    /// A client connection (`sasl_client_new`) whose callbacks answer with `credentials`.
    static func client(
        service: String, serverName: String, credentials: SASLClientCredentials, options: CyrusSASLOptions
    ) throws(CyrusSASLError) -> CyrusSASLConnection {
        try CyrusSASL.initialize()
        let secrets = CyrusSASLClientSecrets(credentials)
        let secretsContext = Unmanaged.passUnretained(secrets).toOpaque()
        let optionsContext = Unmanaged.passUnretained(options).toOpaque()
        let result = CyrusSASLConnection(
            callbacks: [
                swiftmta_sasl_callback_getopt(CyrusSASLOptions.getopt, optionsContext),
                swiftmta_sasl_callback_log(CyrusSASLOptions.log, nil),
                swiftmta_sasl_callback_simple(UInt(SASL_CB_USER), CyrusSASLClientSecrets.simple, secretsContext),
                swiftmta_sasl_callback_simple(UInt(SASL_CB_AUTHNAME), CyrusSASLClientSecrets.simple, secretsContext),
                swiftmta_sasl_callback_secret(CyrusSASLClientSecrets.password, secretsContext),
                swiftmta_sasl_callback_getrealm(CyrusSASLClientSecrets.getrealm, secretsContext),
            ],
            options: options, secrets: secrets)
        let code = sasl_client_new(service, serverName, nil, nil, result.callbacks, 0, &result.connection)
        guard code == SASL_OK, result.connection != nil else {
            throw CyrusSASLError(code: code, operation: "sasl_client_new")
        }
        var properties = sasl_security_properties_t(
            min_ssf: 0, max_ssf: 0, maxbufsize: 0, security_flags: 0, property_names: nil, property_values: nil)
        try result.check(sasl_setprop(result.connection, SASL_SEC_PROPS, &properties), "sasl_setprop(SASL_SEC_PROPS)")
        return result
    }

    private func check(_ code: Int32, _ operation: String) throws(CyrusSASLError) {
        guard code == SASL_OK else { throw CyrusSASLError(code: code, operation: operation) }
    }

    /// The mechanisms this connection would offer (`sasl_listmech`).
    func listMechanisms() throws(CyrusSASLError) -> [String] {
        var list: UnsafePointer<CChar>?
        var length: UInt32 = 0
        var count: Int32 = 0
        let code = sasl_listmech(connection, nil, "", " ", "", &list, &length, &count)
        guard code == SASL_OK, let list else { throw CyrusSASLError(code: code, operation: "sasl_listmech") }
        return String(cString: list).split(separator: " ").map(String.init)
    }

    /// `sasl_server_start`; `input` `nil` means no initial response, empty means an empty one.
    func serverStart(mechanism: String, input: [UInt8]?) -> Outcome {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        let code = Self.withInput(input) { pointer, length in
            sasl_server_start(connection, mechanism, pointer, length, &output, &outputLength)
        }
        return outcome(code, output, outputLength, "sasl_server_start")
    }

    /// `sasl_server_step`.
    func serverStep(_ input: [UInt8]) -> Outcome {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        let code = Self.withInput(input) { pointer, length in
            sasl_server_step(connection, pointer, length, &output, &outputLength)
        }
        return outcome(code, output, outputLength, "sasl_server_step")
    }

    /// `sasl_client_start` for exactly `mechanism`.
    func clientStart(mechanism: String) -> Outcome {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        var chosen: UnsafePointer<CChar>?
        let code = sasl_client_start(connection, mechanism, nil, &output, &outputLength, &chosen)
        return outcome(code, output, outputLength, "sasl_client_start")
    }

    /// `sasl_client_step`.
    func clientStep(_ input: [UInt8]) -> Outcome {
        var output: UnsafePointer<CChar>?
        var outputLength: UInt32 = 0
        let code = Self.withInput(input) { pointer, length in
            sasl_client_step(connection, pointer, length, nil, &output, &outputLength)
        }
        return outcome(code, output, outputLength, "sasl_client_step")
    }

    /// `sasl_checkpass`: `true` for the right password, `false` for a wrong one or an unknown user.
    func checkPassword(user: String, password: [UInt8]) throws(CyrusSASLError) -> Bool {
        // libsasl2 measures the password with strlen on some paths: pass a NUL-terminated copy,
        // overwritten afterwards.
        var terminated = password + [0]
        defer {
            for index in terminated.indices { terminated[index] = 0 }
        }
        let code = terminated.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                sasl_checkpass(connection, user, UInt32(user.utf8.count), $0.baseAddress, UInt32(password.count))
            }
        }
        switch code {
        case SASL_OK: return true
        case SASL_BADAUTH, SASL_NOUSER, SASL_NOVERIFY, SASL_EXPIRED, SASL_DISABLED: return false
        default: throw CyrusSASLError(code: code, operation: "sasl_checkpass")
        }
    }

    /// A string property (`SASL_USERNAME`, `SASL_AUTHUSER`).
    func stringProperty(_ property: Int32) -> String? {
        var value: UnsafeRawPointer?
        guard sasl_getprop(connection, property, &value) == SASL_OK, let value else { return nil }
        return String(cString: value.assumingMemoryBound(to: CChar.self))
    }

    private func outcome(_ code: Int32, _ output: UnsafePointer<CChar>?, _ length: UInt32, _ operation: String) -> Outcome {
        let bytes = output.map { pointer in
            Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: Int(length)))
        }
        switch code {
        case SASL_OK: return .complete(output: bytes)
        case SASL_CONTINUE: return .continuing(output: bytes)
        default: return .failed(CyrusSASLError(code: code, operation: operation))
        }
    }

    /// Passes `input` as libsasl2 wants it: NULL for none, a non-NULL pointer for empty input.
    private static func withInput<R>(_ input: [UInt8]?, _ body: (UnsafePointer<CChar>?, UInt32) -> R) -> R {
        guard let input else { return body(nil, 0) }
        if input.isEmpty { return "".withCString { body($0, 0) } }
        return input.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress, UInt32($0.count)) }
        }
    }
}
