/// A configuration that cannot be used, with where the problem is: the file, the key
/// (`routing.smart_host`) and the line.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configuration file.
    public let file: String
    /// The key, dotted (`relay.dnsbl[0].zone`); `nil` for a syntax error.
    public let key: String?
    /// The line, when known.
    public let line: Int?
    /// What is wrong.
    public let message: String

    /// An error in `file` at `key` (`tls.key`; `nil` for the file as a whole), on `line` when known.
    public init(file: String, key: String?, line: Int?, message: String) {
        self.file = file
        self.key = key
        self.line = line
        self.message = message
    }

    /// `FILE:LINE: key: message`.
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let key { return "\(location): \(key): \(message)" }
        return "\(location): \(message)"
    }
}
