/// The extensions a server advertised in its EHLO reply (RFC 5321 §4.1.1.1), or will advertise.
///
/// Each line of the EHLO reply after the first is `keyword [params]`; the first line is the
/// server's greeting text.
public struct SMTPCapabilities: Hashable, Sendable {
    /// The first line of the reply: the server's name and greeting text.
    public var greeting: String
    /// Each advertised keyword with its parameters, in the order advertised.
    public private(set) var extensions: [Extension] = []

    /// One advertised extension: its keyword and parameters (`SIZE 52428800`, `AUTH PLAIN LOGIN`).
    public struct Extension: Hashable, Sendable {
        /// The EHLO keyword (RFC 5321 §4.1.1.1 `ehlo-keyword`), upper-cased.
        public var keyword: EHLOKeyword
        /// The words after the keyword, in order (`52428800`; `PLAIN`, `LOGIN`).
        public var parameters: [String]
    }

    /// Capabilities with `greeting` as the first line and no extensions yet; add them with
    /// ``add(_:parameters:)``. The greeting is not checked.
    public init(greeting: String) {
        self.greeting = greeting
    }

    /// Reads the capabilities from an EHLO (or LHLO) reply.
    public init(ehloReply reply: SMTPReply) {
        self.greeting = reply.lines.first ?? ""
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ")
            guard let first = words.first else { continue }
            // "AUTH=LOGIN PLAIN" is the pre-standard form some servers still send.
            if SMTPCharacterClass.asciiUppercased(first).hasPrefix("AUTH=") {
                add(.auth, parameters: [String(first.dropFirst(5))] + words.dropFirst().map(String.init))
                continue
            }
            add(EHLOKeyword(String(first)), parameters: words.dropFirst().map(String.init))
        }
    }

    /// Adds (or extends) a keyword.
    public mutating func add(_ keyword: EHLOKeyword, parameters: [String] = []) {
        if let index = extensions.firstIndex(where: { $0.keyword == keyword }) {
            extensions[index].parameters += parameters.filter { !extensions[index].parameters.contains($0) }
        } else {
            extensions.append(Extension(keyword: keyword, parameters: parameters))
        }
    }

    /// Whether the keyword was advertised.
    public func contains(_ keyword: EHLOKeyword) -> Bool {
        extensions.contains { $0.keyword == keyword }
    }

    /// The parameters of a keyword, or `nil` when it was not advertised.
    public func parameters(of keyword: EHLOKeyword) -> [String]? {
        extensions.first { $0.keyword == keyword }?.parameters
    }

    /// SIZE's limit: `nil` when SIZE was not advertised or advertised without a fixed limit.
    public var maximumSize: Int? {
        guard let value = parameters(of: .size)?.first, let size = Int(value), size > 0 else { return nil }
        return size
    }

    /// The SASL mechanisms offered with AUTH, upper-cased (ASCII).
    public var authMechanisms: [String] {
        (parameters(of: .auth) ?? []).map { SMTPCharacterClass.asciiUppercased($0) }
    }

    /// The reply lines to send after the greeting line, one per keyword.
    public var replyLines: [String] {
        [greeting] + extensions.map { ([$0.keyword.name] + $0.parameters).joined(separator: " ") }
    }
}
