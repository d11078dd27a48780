public import NIOCore

/// A command a client sends (RFC 5321 §4.1.1).
///
/// This is the foundation's subset: HELO, EHLO, NOOP, RSET and QUIT parse into their own cases;
/// every other verb is kept as ``unrecognized(verb:)`` so a server can answer it.
public enum SMTPCommand: Hashable, Sendable {
    /// `HELO domain` (RFC 5321 §4.1.1.1).
    case helo(String)
    /// `EHLO domain-or-address-literal` (RFC 5321 §4.1.1.1).
    case ehlo(String)
    /// `NOOP [string]` (RFC 5321 §4.1.1.9).
    case noop
    /// `RSET` (RFC 5321 §4.1.1.5).
    case reset
    /// `QUIT` (RFC 5321 §4.1.1.10).
    case quit
    /// A verb this parser does not know, upper-cased.
    case unrecognized(verb: String)

    /// Parses one command line (without its CRLF).
    ///
    /// - Throws: ``SMTPCommandError`` for a line that is not a command: non-ASCII or control bytes,
    ///   a missing or malformed argument.
    public static func parse(_ line: ByteBuffer) throws(SMTPCommandError) -> SMTPCommand {
        let bytes = line.readableBytesView
        for byte in bytes where byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
            throw SMTPCommandError(.invalidCharacter, "command line contains a control character")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let argument = text[verbEnd...].drop { $0 == " " }
        switch verb {
        case "HELO", "EHLO":
            let domain = argument.trimmingTrailingSpaces
            guard !domain.isEmpty else {
                throw SMTPCommandError(.missingArgument, "\(verb) requires a domain address")
            }
            guard !domain.contains(" ") else {
                throw SMTPCommandError(.invalidArgument, "\(verb) takes exactly one argument")
            }
            return verb == "HELO" ? .helo(String(domain)) : .ehlo(String(domain))
        case "NOOP":
            return .noop
        case "RSET", "QUIT":
            guard argument.trimmingTrailingSpaces.isEmpty else {
                throw SMTPCommandError(.unexpectedArgument, "\(verb) takes no argument")
            }
            return verb == "RSET" ? .reset : .quit
        default:
            guard !verb.isEmpty, verb.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw SMTPCommandError(.unrecognizedCommand, "command unrecognized")
            }
            return .unrecognized(verb: verb)
        }
    }
}

extension Substring {
    var trimmingTrailingSpaces: Substring {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
