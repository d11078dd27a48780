#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The keys a routing decision searches, most specific first, as Sendmail's rulesets build them.
/// Pass them to ``MailMap/search(_:)``, which stops at the first found and records every key tried.
public enum MailMapKeys {
    /// A domain and each parent domain: `a.b.c` → `a.b.c`, `b.c`, `c` — the access map's domain
    /// matching, where `real-time.com RELAY` also covers `host.real-time.com`.
    ///
    /// A trailing dot is dropped; a domain literal (`[192.0.2.1]`) is returned alone.
    public static func domainAndParents(_ domain: String) -> [String] {
        let name = domain.hasSuffix(".") ? String(domain.dropLast()) : domain
        guard !name.isEmpty else { return [] }
        guard !name.hasPrefix("[") else { return [name] }
        var keys = [name]
        var rest = Substring(name)
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            if !rest.isEmpty { keys.append(String(rest)) }
        }
        return keys
    }

    /// A host name, then each parent domain written with a leading dot: `a.b.c` → `a.b.c`,
    /// `.b.c`, `.c`, and `.` when `includingRoot` — the mailertable's search, from most to least
    /// qualified, where `.lan` matches any host below `lan` but not `lan` itself.
    public static func domainSuffixes(_ domain: String, includingRoot: Bool = false) -> [String] {
        let name = domain.hasSuffix(".") ? String(domain.dropLast()) : domain
        guard !name.isEmpty else { return includingRoot ? ["."] : [] }
        var keys = [name]
        if !name.hasPrefix("[") {
            var rest = Substring(name)
            while let dot = rest.firstIndex(of: ".") {
                rest = rest[rest.index(after: dot)...]
                if !rest.isEmpty { keys.append("." + rest) }
            }
        }
        if includingRoot { keys.append(".") }
        return keys
    }

    /// The part of `domain` that a mailertable key ending in `suffix` (`.lan`) left out: Sendmail's
    /// `%1` (`hosta.private.lan` with `.private.lan` → `hosta`). `nil` when `suffix` is not one of
    /// `domain`'s dotted suffixes.
    public static func wildcardPart(of domain: String, matching suffix: String) -> String? {
        let name = domain.hasSuffix(".") ? String(domain.dropLast()) : domain
        if suffix == "." { return name }
        guard suffix.hasPrefix("."), name.count > suffix.count,
              MailMapOptions.asciiLowercased(name).hasSuffix(MailMapOptions.asciiLowercased(suffix)) else { return nil }
        return String(name.dropLast(suffix.count))
    }

    /// An IP address and the networks that hold it, as Sendmail's access map writes them.
    ///
    /// - IPv4: `206.10.252.103` → `206.10.252.103`, `206.10.252`, `206.10`, `206`.
    /// - IPv6, tagged `IPv6:` as Sendmail writes them: the address in its compressed form
    ///   (`IPv6:2002:c0a8:51d2::23f4`), in its full form when that differs
    ///   (`IPv6:2002:c0a8:51d2:0:0:0:0:23f4`), then its leading groups from seven down to one
    ///   (`IPv6:2002:c0a8:51d2:0:0:0:0`, …, `IPv6:2002:c0a8`, `IPv6:2002`).
    ///
    /// The address may be given bare, in brackets, or with its `IPv6:` tag; an IPv4-mapped IPv6
    /// address (`::ffff:192.0.2.1`) is searched as the IPv4 address. Text that is not an IP
    /// address is returned alone, unchanged.
    public static func addressAndNetworks(_ address: String) -> [String] {
        guard let parsed = IPAddress(address) else { return [address] }
        switch parsed {
        case .v4(let octets):
            let parts = octets.map(String.init)
            return (1...4).reversed().map { parts.prefix($0).joined(separator: ".") }
        case .v6(let groups):
            let full = groups.map { String($0, radix: 16) }
            var keys = ["IPv6:" + parsed.compressedText]
            let fullText = "IPv6:" + full.joined(separator: ":")
            if fullText != keys[0] { keys.append(fullText) }
            for count in (1...7).reversed() {
                keys.append("IPv6:" + full.prefix(count).joined(separator: ":"))
            }
            return keys
        }
    }

    /// The DNSBL query name for `address` under `zone` (RFC 5782 §2.1, §2.4): the IPv4 octets,
    /// or the 32 IPv6 nibbles, in reverse order, then the zone:
    /// `192.0.2.99` under `zen.example` → `99.2.0.192.zen.example`.
    ///
    /// - Returns: `nil` when `address` is not an IP address.
    public static func dnsblName(for address: String, zone: String) -> String? {
        guard let parsed = IPAddress(address) else { return nil }
        let zoneName = zone.hasPrefix(".") ? String(zone.dropFirst()) : zone
        switch parsed {
        case .v4(let octets):
            return octets.reversed().map(String.init).joined(separator: ".") + "." + zoneName
        case .v6(let groups):
            var nibbles: [String] = []
            for group in groups.reversed() {
                for shift in [0, 4, 8, 12] {
                    nibbles.append(String((group >> UInt16(shift)) & 0xf, radix: 16))
                }
            }
            return nibbles.joined(separator: ".") + "." + zoneName
        }
    }
}

/// An IPv4 or IPv6 address parsed with `inet_pton`.
package enum IPAddress: Hashable, Sendable {
    case v4([UInt8])
    case v6([UInt16])

    /// Parses `text`: bare, in brackets, or tagged `IPv6:`. IPv4-mapped IPv6 becomes IPv4.
    package init?(_ text: String) {
        var body = Substring(text)
        if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
        if body.lowercased().hasPrefix("ipv6:") { body = body.dropFirst(5) }
        let string = String(body)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, string, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self = .v4(Array(bytes[12..<16]))
            return
        }
        self = .v6((0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) })
    }

    /// The address as `inet_ntop` writes it (IPv6 compressed, lower case).
    package var compressedText: String {
        switch self {
        case .v4(let octets):
            return octets.map(String.init).joined(separator: ".")
        case .v6(let groups):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { buffer in
                for (index, group) in groups.enumerated() {
                    buffer[2 * index] = UInt8(group >> 8)
                    buffer[2 * index + 1] = UInt8(group & 0xff)
                }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else {
                return groups.map { String($0, radix: 16) }.joined(separator: ":")
            }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
