internal import CSASL

/// A failure reported by libsasl2: which call failed and libsasl2's own reason.
///
/// The text comes from `sasl_errstring`, never from the exchange itself, so it carries no
/// credentials.
public struct CyrusSASLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// libsasl2's result code (`SASL_NOMECH`, `SASL_BADAUTH`, …).
    public let code: Int32
    /// The libsasl2 call that failed.
    public let operation: String

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String {
        let reason = sasl_errstring(code, nil, nil).map { String(cString: $0) } ?? "unknown error"
        return "\(operation) failed: \(reason) (\(code))"
    }
}
