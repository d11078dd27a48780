/// The parameters of a RCPT command, parsed: NOTIFY and ORCPT (RFC 3461 §4.1, §4.2); every other
/// parameter is kept in ``other``.
public struct RecipientParameters: Hashable, Sendable {
    /// `NOTIFY=`.
    public var notify: DSNNotify?
    /// `ORCPT=addr-type;xtext`: the original recipient, with its address type (`rfc822`, `utf-8`).
    public var originalRecipient: OriginalRecipient?
    /// Parameters other than NOTIFY and ORCPT, in order.
    public var other: [ESMTPParameter]

    /// The value of ORCPT (RFC 3461 §4.2).
    public struct OriginalRecipient: Hashable, Sendable {
        /// The address type, as sent (`rfc822`, `utf-8`).
        public let type: String
        /// The address, xtext-decoded (xtext encodes every byte it cannot carry, RFC 3461 §4).
        public let address: String

        /// Makes the value of ORCPT.
        ///
        /// - Throws: ``SMTPCommandError`` (``SMTPCommandError/Kind/invalidArgument``) when `type`
        ///   is not an atom (RFC 3461 §4.2: printable ASCII without specials, `=` or space) or
        ///   `address` is empty.
        public init(type: String, address: String) throws(SMTPCommandError) {
            let specials: Set<Unicode.Scalar> = ["(", ")", "<", ">", "@", ",", ";", ":", "\\", "\"", ".", "[", "]", "="]
            guard !type.isEmpty, type.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && !specials.contains($0) }) else {
                throw SMTPCommandError(.invalidArgument, "ORCPT address type must be an atom such as rfc822")
            }
            guard !address.isEmpty else {
                throw SMTPCommandError(.invalidArgument, "ORCPT must be addr-type;xtext")
            }
            self.type = type
            self.address = address
        }
    }

    /// Parameters for a RCPT that a client sends: `notify` (NOTIFY), `originalRecipient` (ORCPT,
    /// checked by its own initializer) and `other`, written in that order. Nothing else is checked.
    public init(notify: DSNNotify? = nil, originalRecipient: OriginalRecipient? = nil, other: [ESMTPParameter] = []) {
        self.notify = notify
        self.originalRecipient = originalRecipient
        self.other = other
    }

    /// The keywords present, upper-cased.
    public var keywords: [String] {
        (notify == nil ? [] : ["NOTIFY"]) + (originalRecipient == nil ? [] : ["ORCPT"]) + other.map(\.keyword)
    }

    init(parsing list: [ESMTPParameter]) throws(SMTPCommandError) {
        self.init()
        for parameter in list {
            switch (parameter.keyword, parameter.value) {
            case ("NOTIFY", let value?):
                guard let parsed = DSNNotify(value) else {
                    throw SMTPCommandError(.invalidArgument, "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
                }
                notify = parsed
            case ("ORCPT", let value?):
                // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
                guard value.utf8.count <= 500, let semicolon = value.firstIndex(of: ";"),
                      !value[..<semicolon].isEmpty,
                      let address = XText.decode(value[value.index(after: semicolon)...]), !address.isEmpty
                else {
                    throw SMTPCommandError(.invalidArgument, "ORCPT must be addr-type;xtext")
                }
                originalRecipient = try OriginalRecipient(type: String(value[..<semicolon]), address: address)
            case ("NOTIFY", nil), ("ORCPT", nil):
                throw SMTPCommandError(.invalidArgument, "\(parameter.keyword) requires a value")
            default:
                other.append(parameter)
            }
        }
    }

    var encoded: String {
        var words: [String] = []
        if let notify { words.append("NOTIFY=\(notify)") }
        if let originalRecipient { words.append("ORCPT=\(originalRecipient.type);\(XText.encode(originalRecipient.address))") }
        words += other.map(\.description)
        return words.map { " " + $0 }.joined()
    }
}
