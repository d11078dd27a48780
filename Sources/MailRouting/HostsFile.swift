public import MailMaps
import MailSystem

/// The static host table, `/etc/hosts` (hosts(5)): what the system's name service consults before
/// DNS (`hosts: files dns`), and so what Sendmail's reverse and forward lookups of a client see
/// first — `127.0.0.1` is `localhost` there, not in DNS.
///
/// Each line is an address and its names, the first name canonical; `#` starts a comment. Lines
/// that do not start with an IP address are ignored, as the C library ignores them.
public struct HostsFile: Sendable {
    /// The largest file read: far above any real host table.
    public static let sizeLimit = 4 << 20

    private var namesByAddress: [String: [String]] = [:]
    private var addressesByName: [String: [String]] = [:]

    /// The table in `text`.
    public init(parsing text: String) {
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard fields.count >= 2, let address = Self.canonical(fields[0]) else { continue }
            let names = fields.dropFirst().map { Self.key($0) }
            namesByAddress[address, default: []].append(contentsOf: names)
            for name in names { addressesByName[name, default: []].append(address) }
        }
    }

    /// Reads the table at `path` (blocking: call it off any event loop).
    ///
    /// - Throws: ``MailMapError`` naming the file when it cannot be read or is larger than
    ///   ``sizeLimit``.
    public init(contentsOf path: String) throws(MailMapError) {
        do {
            self.init(parsing: try BoundedFile.readText(path, limit: Self.sizeLimit))
        } catch {
            throw MailMapError(.unavailable, map: path, message: "\(path): \(error)")
        }
    }

    /// The canonical name of `address` (the first name of its first line), if the table has it.
    public func hostName(of address: String) -> String? {
        Self.canonical(address).flatMap { namesByAddress[$0]?.first }
    }

    /// The addresses the table gives `name` (case-insensitive, a final dot ignored).
    public func addresses(of name: String) -> [String] {
        addressesByName[Self.key(name)] ?? []
    }

    /// One spelling per address (`::1` and `0:0::1` alike, IPv4-mapped IPv6 as IPv4).
    static func canonical(_ address: String) -> String? {
        guard let parsed = IPAddress(address) else { return nil }
        switch parsed {
        case .v4(let octets): return octets.map(String.init).joined(separator: ".")
        case .v6(let groups): return groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
    }

    private static func key(_ name: String) -> String {
        let lowered = name.asciiLowercased
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }
}
