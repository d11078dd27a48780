import MailMaps

/// MailMaps' fuzz targets: each takes arbitrary bytes and must return or throw a `MailMapError`
/// (or answer `nil`), never crash, hang, or grow memory without bound. Selected by name
/// (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when replaying files). Internal
/// parsers are reached through `package` access.
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "text": text,
        "spec": spec,
        "inline": inline,
        "keys": keys,
        "dns": dns,
    ]

    /// The text map parser in every format: `key value` tables (with and without a delimiter),
    /// aliases(5) files and class lists.
    static func text(_ bytes: UnsafeRawBufferPointer) {
        let input = Array(bytes)
        let formats: [MailMapTextParser.Format] = [.table(delimiter: nil), .table(delimiter: ":"), .aliases, .list]
        for format in formats {
            guard let entries = try? MailMapTextParser(format: format, spec: "fuzz", source: "fuzz").entries(input) else { continue }
            for entry in entries {
                precondition(entry.line >= 1, "an entry without a line number: \(entry)")
            }
        }
    }

    /// `type:name` specs, their flags and arguments, and opening `dns:` specs.
    static func spec(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let spec = try? MailMapSpec(text) else { return }
        _ = try? spec.arguments()
        _ = try? MailMapFlags(spec, withArgument: ["R", "B", "z", "k", "v"], withoutArgument: ["o", "f", "1"])
        _ = try? DNSMap(spec: spec, resolver: resolver)
    }

    /// `inline:{ … }` maps and Postfix's brace lists.
    static func inline(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? InlineMap(text)
        _ = BraceList.items(text, requireBraces: false)
    }

    /// The search keys routing derives from addresses, host names and IP addresses.
    static func keys(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = MailMapKeys.addressAndNetworks(text)
        _ = MailMapKeys.dnsblName(for: text, zone: "zen.example")
        _ = MailMapKeys.domainAndParents(text)
        _ = MailMapKeys.domainSuffixes(text, includingRoot: true)
        _ = MailMapKeys.wildcardPart(of: text, matching: ".lan")
        let folded = MailMapOptions.asciiLowercased(text)
        precondition(folded.utf8.count == text.utf8.count, "ASCII folding changed the length")
    }

    /// DNS answers, as the resolver reads them: the first byte picks the record type and whether
    /// the AD bit is trusted, the rest is the message.
    static func dns(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        let types: [DNSRecordType] = [.a, .mx, .txt, .aaaa, .tlsa]
        _ = DNSMessageParser.parse(
            UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), type: types[Int(selector) % types.count],
            maximumTTL: .seconds(3600), negativeTTL: .seconds(60), trustsAuthenticatedData: selector & 0x80 != 0)
    }

    /// A resolver that is never asked: opening a `dns:` map sends nothing.
    private static let resolver = DNSResolver()
}
