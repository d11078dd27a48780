/// What a host name the server announces must look like: a domain of letters, digits and
/// hyphens (RFC 5321 §4.1.2 `Domain`, RFC 1123 §2.1), because it goes into the greeting, the
/// EHLO reply, `Received:` headers and the self-signed certificate.
enum HostNameRule {
    /// Why `name` cannot be the server's host name, or `nil` when it can.
    static func problem(with name: String) -> String? {
        if name.isEmpty { return "the host name is empty" }
        let bytes = Array(name.utf8)
        if bytes.count > 253 { return "the host name \"\(printable(name))\" is longer than 253 characters" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "the host name \"\(printable(name))\" has an empty label (two dots, or a dot at an end)" }
            if label.utf8.count > 63 { return "the host name \"\(printable(name))\" has a label longer than 63 characters" }
            for byte in label.utf8 {
                let isLetterOrDigit = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                guard isLetterOrDigit || byte == UInt8(ascii: "-") else {
                    return "the host name \"\(printable(name))\" may hold only letters, digits, hyphens and dots"
                }
            }
            if label.hasPrefix("-") || label.hasSuffix("-") {
                return "the host name \"\(printable(name))\" has a label that starts or ends with a hyphen"
            }
        }
        return nil
    }

    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(80).map { (0x20...0x7E).contains($0.value) ? Character($0) : "?" })
    }
}
