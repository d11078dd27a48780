/// The NOTIFY parameter of RCPT (RFC 3461 §4.1): when to send a delivery status notification.
public enum DSNNotify: Hashable, Sendable, CustomStringConvertible {
    /// `NOTIFY=NEVER`.
    case never
    /// Any of SUCCESS, FAILURE, DELAY (at least one).
    case on(Set<Condition>)

    /// A NOTIFY condition.
    public enum Condition: String, Hashable, Sendable, CaseIterable {
        /// `SUCCESS`: notify on successful delivery.
        case success = "SUCCESS"
        /// `FAILURE`: notify when delivery fails.
        case failure = "FAILURE"
        /// `DELAY`: notify when delivery is delayed.
        case delay = "DELAY"
    }

    /// Parses the value; `nil` when it is not `NEVER` or a comma list of known conditions.
    public init?(_ value: String) {
        let words = SMTPCharacterClass.asciiUppercased(value).split(separator: ",", omittingEmptySubsequences: false)
        if words == ["NEVER"] {
            self = .never
            return
        }
        var conditions = Set<Condition>()
        for word in words {
            guard let condition = Condition(rawValue: String(word)), conditions.insert(condition).inserted else { return nil }
        }
        guard !conditions.isEmpty else { return nil }
        self = .on(conditions)
    }

    public var description: String {
        switch self {
        case .never: "NEVER"
        case .on(let conditions): Condition.allCases.filter(conditions.contains).map(\.rawValue).joined(separator: ",")
        }
    }
}
