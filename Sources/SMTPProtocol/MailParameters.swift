/// The parameters of a MAIL command, parsed.
///
/// Known keywords: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET and ENVID
/// (RFC 3461), AUTH (RFC 4954 §5), REQUIRETLS (RFC 8689). Every other parameter is kept in
/// ``other`` for policy; a server refuses those it did not advertise.
public struct MailParameters: Hashable, Sendable {
    /// `SIZE=n`: the client's estimate of the message size in octets.
    public var size: Int?
    /// `BODY=`.
    public var body: BodyType?
    /// `SMTPUTF8`: the transaction may use UTF-8 in addresses and headers.
    public var smtpUTF8: Bool
    /// `RET=`.
    public var dsnReturn: DSNReturn?
    /// `ENVID=`, xtext-decoded.
    public var envelopeID: String?
    /// `AUTH=`, xtext-decoded: the identity that submitted the message, or `<>` for unknown.
    public var authenticatedSender: String?
    /// `REQUIRETLS`: the message must only travel over TLS (RFC 8689 §4.1).
    public var requireTLS: Bool
    /// Parameters not listed above, in order.
    public var other: [ESMTPParameter]

    /// Parameters for a MAIL that a client sends; each is the property of the same name. Nothing is
    /// checked here (parsing limits ENVID to 100 characters, RFC 3461 §4.4; this does not); ENVID
    /// and AUTH= are xtext-encoded when the command is written.
    public init(
        size: Int? = nil, body: BodyType? = nil, smtpUTF8: Bool = false, dsnReturn: DSNReturn? = nil,
        envelopeID: String? = nil, authenticatedSender: String? = nil, requireTLS: Bool = false,
        other: [ESMTPParameter] = []
    ) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.authenticatedSender = authenticatedSender
        self.requireTLS = requireTLS
        self.other = other
    }

    /// The keywords present, known and unknown, upper-cased.
    public var keywords: [String] {
        var result: [String] = []
        if size != nil { result.append("SIZE") }
        if body != nil { result.append("BODY") }
        if smtpUTF8 { result.append("SMTPUTF8") }
        if dsnReturn != nil { result.append("RET") }
        if envelopeID != nil { result.append("ENVID") }
        if authenticatedSender != nil { result.append("AUTH") }
        if requireTLS { result.append("REQUIRETLS") }
        return result + other.map(\.keyword)
    }

    init(parsing list: [ESMTPParameter]) throws(SMTPCommandError) {
        self.init()
        for parameter in list {
            switch (parameter.keyword, parameter.value) {
            case ("SIZE", let value?):
                // RFC 1870 §5: size-value = 1*20DIGIT.
                guard (1...20).contains(value.count), value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw SMTPCommandError(.invalidArgument, "SIZE must be a number of octets")
                }
                size = Int(value) ?? Int.max
            case ("BODY", let value?):
                guard let type = BodyType(keyword: value) else {
                    throw SMTPCommandError(.invalidArgument, "unknown BODY type \(value.prefix(20))")
                }
                body = type
            case ("SMTPUTF8", nil):
                smtpUTF8 = true
            case ("RET", let value?):
                guard let ret = DSNReturn(rawValue: SMTPCharacterClass.asciiUppercased(value)) else {
                    throw SMTPCommandError(.invalidArgument, "RET must be FULL or HDRS")
                }
                dsnReturn = ret
            case ("ENVID", let value?):
                // RFC 3461 §4.4: at most 100 characters, xtext.
                guard value.utf8.count <= 100, let decoded = XText.decode(Substring(value)) else {
                    throw SMTPCommandError(.invalidArgument, "ENVID must be xtext of at most 100 characters")
                }
                envelopeID = decoded
            case ("AUTH", let value?):
                guard let decoded = XText.decode(Substring(value)) else {
                    throw SMTPCommandError(.invalidArgument, "AUTH= must be xtext")
                }
                authenticatedSender = decoded
            case ("REQUIRETLS", nil):
                requireTLS = true
            case ("SIZE", nil), ("BODY", nil), ("RET", nil), ("ENVID", nil), ("AUTH", nil):
                throw SMTPCommandError(.invalidArgument, "\(parameter.keyword) requires a value")
            case ("SMTPUTF8", _?), ("REQUIRETLS", _?):
                throw SMTPCommandError(.invalidArgument, "\(parameter.keyword) takes no value")
            default:
                other.append(parameter)
            }
        }
    }

    /// The parameters as written after the path, each preceded by a space.
    var encoded: String {
        var words: [String] = []
        if let size { words.append("SIZE=\(size)") }
        if let body { words.append("BODY=\(body.keyword)") }
        if smtpUTF8 { words.append("SMTPUTF8") }
        if let dsnReturn { words.append("RET=\(dsnReturn.rawValue)") }
        if let envelopeID { words.append("ENVID=\(XText.encode(envelopeID))") }
        if let authenticatedSender { words.append("AUTH=\(XText.encode(authenticatedSender))") }
        if requireTLS { words.append("REQUIRETLS") }
        words += other.map(\.description)
        return words.map { " " + $0 }.joined()
    }
}
