/// An enhanced mail system status code, `class.subject.detail` (RFC 3463, registered in RFC 5248).
///
/// The class agrees with the first digit of the reply code: 2 success, 4 persistent transient
/// failure, 5 permanent failure.
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    /// 2, 4 or 5.
    public var statusClass: Int
    /// The subject: 0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network and routing,
    /// 5 mail delivery protocol, 6 message content, 7 security or policy.
    public var subject: Int
    /// The detail within the subject.
    public var detail: Int

    /// Makes a code; `nil` when a part is out of range (RFC 3463 §2: class 2, 4 or 5; subject and
    /// detail 0–999).
    public init?(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        guard [2, 4, 5].contains(statusClass), (0...999).contains(subject), (0...999).contains(detail) else {
            return nil
        }
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    private init(known statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `X.Y.Z`; `nil` when the text is not an enhanced status code.
    public init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCIIDigitCharacter) }),
              let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]),
              parts[0].count == 1
        else { return nil }
        self.init(a, b, c)
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// The same subject and detail in another class (`5.7.1` → `4.7.1`).
    public func withClass(_ statusClass: Int) -> EnhancedStatusCode {
        EnhancedStatusCode(statusClass, subject, detail) ?? self
    }

    // RFC 3463 §3 and RFC 5248: the codes SwiftMTA uses.
    /// 2.0.0 Other undefined status (success).
    public static let success = EnhancedStatusCode(known: 2, 0, 0)
    /// 2.1.0 Other address status: sender accepted.
    public static let senderOK = EnhancedStatusCode(known: 2, 1, 0)
    /// 2.1.5 Destination address valid.
    public static let recipientOK = EnhancedStatusCode(known: 2, 1, 5)
    /// 2.6.0 Other or undefined media error: message accepted.
    public static let messageAccepted = EnhancedStatusCode(known: 2, 6, 0)
    /// 2.7.0 Other or undefined security status: authentication succeeded.
    public static let authenticationSucceeded = EnhancedStatusCode(known: 2, 7, 0)
    /// 4.3.0 Other or undefined mail system status.
    public static let temporarySystemError = EnhancedStatusCode(known: 4, 3, 0)
    /// 4.4.2 Bad connection (timeout).
    public static let badConnection = EnhancedStatusCode(known: 4, 4, 2)
    /// 4.7.0 Other or undefined security status (temporary).
    public static let temporarySecurityError = EnhancedStatusCode(known: 4, 7, 0)
    /// 5.1.1 Bad destination mailbox address.
    public static let badDestinationMailbox = EnhancedStatusCode(known: 5, 1, 1)
    /// 5.1.3 Bad destination mailbox address syntax.
    public static let badDestinationSyntax = EnhancedStatusCode(known: 5, 1, 3)
    /// 5.1.7 Bad sender's mailbox address syntax.
    public static let badSenderSyntax = EnhancedStatusCode(known: 5, 1, 7)
    /// 5.3.4 Message too big for system.
    public static let messageTooBig = EnhancedStatusCode(known: 5, 3, 4)
    /// 5.5.1 Invalid command.
    public static let invalidCommand = EnhancedStatusCode(known: 5, 5, 1)
    /// 5.5.2 Syntax error.
    public static let syntaxError = EnhancedStatusCode(known: 5, 5, 2)
    /// 5.5.3 Too many recipients.
    public static let tooManyRecipients = EnhancedStatusCode(known: 5, 5, 3)
    /// 5.5.4 Invalid command arguments.
    public static let invalidArguments = EnhancedStatusCode(known: 5, 5, 4)
    /// 5.5.6 Authentication exchange line is too long (RFC 4954).
    public static let lineTooLong = EnhancedStatusCode(known: 5, 5, 6)
    /// 5.7.0 Other or undefined security status.
    public static let securityError = EnhancedStatusCode(known: 5, 7, 0)
    /// 5.7.1 Delivery not authorized, message refused.
    public static let deliveryNotAuthorized = EnhancedStatusCode(known: 5, 7, 1)
    /// 5.7.8 Authentication credentials invalid (RFC 4954).
    public static let invalidCredentials = EnhancedStatusCode(known: 5, 7, 8)
}

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
