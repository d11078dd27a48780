/// The bookkeeping every native server mechanism shares: the step count and the size limits.
struct ServerExchange: Sendable {
    let mechanism: SASLMechanismName
    let limits: SASLLimits
    private var messages = 0

    init(mechanism: SASLMechanismName, limits: SASLLimits) {
        self.mechanism = mechanism
        self.limits = limits
    }

    /// Counts a client message and checks its size.
    mutating func accept(_ message: [UInt8]) throws(SASLError) {
        messages += 1
        guard messages <= limits.maximumSteps else {
            throw SASLError(.malformed, "the client sent more than \(limits.maximumSteps) messages", mechanism: mechanism)
        }
        guard message.count <= limits.maximumMessageLength else {
            throw SASLError(
                .malformed,
                "a client message of \(message.count) octets exceeds the limit of \(limits.maximumMessageLength)",
                mechanism: mechanism)
        }
    }

    /// An identity field: UTF-8 without NUL, at most the field limit.
    func identity(_ bytes: some Collection<UInt8>, _ what: String, allowEmpty: Bool = false) throws(SASLError) -> String {
        guard bytes.count <= limits.maximumFieldLength else {
            throw SASLError(
                .malformed, "the \(what) is \(bytes.count) octets, more than \(limits.maximumFieldLength)",
                mechanism: mechanism)
        }
        guard allowEmpty || !bytes.isEmpty else {
            throw SASLError(.malformed, "the \(what) is empty", mechanism: mechanism)
        }
        guard let text = Bytes.utf8String(bytes) else {
            throw SASLError(.malformed, "the \(what) is not UTF-8 text", mechanism: mechanism)
        }
        return text
    }

    /// A password field: non-empty, no NUL, at most the field limit.
    func password(_ bytes: some Collection<UInt8>) throws(SASLError) -> SASLSecret {
        guard !bytes.isEmpty else { throw SASLError(.malformed, "the password is empty", mechanism: mechanism) }
        guard bytes.count <= limits.maximumFieldLength else {
            throw SASLError(
                .malformed, "the password is longer than \(limits.maximumFieldLength) octets", mechanism: mechanism)
        }
        guard !bytes.contains(0) else {
            throw SASLError(.malformed, "the password contains NUL", mechanism: mechanism)
        }
        return SASLSecret(bytes: Array(bytes))
    }

    func invalidState(_ what: String) -> SASLError {
        SASLError(.invalidState, what, mechanism: mechanism)
    }
}
