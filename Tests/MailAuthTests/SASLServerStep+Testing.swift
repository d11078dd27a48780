import MailAuth

/// The two shapes of a step as optionals, for `#require`: a test that expects a challenge fails
/// when it gets a success, and the reverse — never returns early as if it had passed.
extension SASLServerStep {
    /// The challenge; `nil` when the step is a success.
    var challenge: [UInt8]? {
        switch self {
        case .challenge(let challenge): challenge
        case .success: nil
        }
    }

    /// The outcome and the additional data of a success; `nil` when the step is a challenge.
    var success: (outcome: SASLAuthentication, additionalData: [UInt8]?)? {
        switch self {
        case .challenge: nil
        case .success(let outcome, let additionalData): (outcome, additionalData)
        }
    }
}
