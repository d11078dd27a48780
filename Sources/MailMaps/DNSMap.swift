/// DNS as a map, Sendmail's `dns` map class: `dns:-R MX`, `dns:-R TXT -B example.com`,
/// `dns:-R DNSBL -B zen.example`.
///
/// Flags (Sendmail's, as in a `K` line):
/// - `-R type` — `A`, `AAAA`, `MX`, `TXT`, `TLSA`, or `DNSBL` (the key is an IPv4 or IPv6 address,
///   looked up reversed under the `-B` zone as RFC 5782 §2 describes; the value is the A records).
/// - `-B domain` — appended to every key (`key.domain`); required for `DNSBL`.
/// - `-z delimiter` — join all records with it; without it, only the first is returned (for MX,
///   the exchanger of lowest preference).
/// - `-T…` — Sendmail's temporary-failure marker; accepted and ignored, since a failed query is
///   always an error here.
///
/// Values: addresses as text, MX exchangers as host names, TXT strings joined per record, TLSA
/// in presentation form (`3 1 1 ab…`). No record, or no such name, is "not found"; a server that
/// does not answer is an error.
public struct DNSMap: MailMap {
    /// The record types a DNS map asks for.
    public enum RecordType: String, Sendable, CaseIterable {
        /// IPv4 addresses.
        case a = "A"
        /// IPv6 addresses.
        case aaaa = "AAAA"
        /// Mail exchangers, by preference.
        case mx = "MX"
        /// Text records.
        case txt = "TXT"
        /// DANE TLSA records.
        case tlsa = "TLSA"
        /// A DNS blocklist: the key is an IP address.
        case dnsbl = "DNSBL"
    }

    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// What is asked for.
    public let recordType: RecordType
    /// The domain appended to keys (`-B`).
    public let domain: String?
    /// What joins several records (`-z`); `nil` returns the first only.
    public let delimiter: String?
    /// The resolver queries go through.
    public let resolver: DNSResolver

    /// A DNS map asking `resolver` for `recordType` records.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for a DNSBL map without a domain.
    public init(
        recordType: RecordType, domain: String? = nil, delimiter: String? = nil,
        resolver: DNSResolver, spec: String? = nil
    ) throws(MailMapError) {
        let description = spec ?? "dns:-R \(recordType.rawValue)" + (domain.map { " -B \($0)" } ?? "")
        if recordType == .dnsbl, domain?.isEmpty ?? true {
            throw MailMapError(.badSpec, map: description, message: "\(description): a DNSBL map needs its zone with -B")
        }
        self.spec = description
        self.recordType = recordType
        self.domain = domain.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }
        self.delimiter = delimiter
        self.resolver = resolver
    }

    /// Opens a `dns:` spec.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for an unknown flag or record type.
    public init(spec: MailMapSpec, resolver: DNSResolver) throws(MailMapError) {
        let flags = try MailMapFlags(spec, withArgument: ["R", "B", "z", "T"], withoutArgument: [])
        guard flags.operands.isEmpty else {
            throw MailMapError(.badSpec, map: spec.description,
                message: "\(spec): unexpected \"\(flags.operands.joined(separator: " "))\" (expected flags -R, -B, -z)")
        }
        let typeName = flags.argument("R")?.uppercased() ?? "A"
        guard let type = RecordType(rawValue: typeName) else {
            throw MailMapError(.badSpec, map: spec.description,
                message: "\(spec): unknown record type \"\(typeName)\" (expected one of \(RecordType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try self.init(recordType: type, domain: flags.argument("B"), delimiter: flags.argument("z"),
                      resolver: resolver, spec: spec.description)
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        let values: [String]
        do {
            values = try await records(for: key)
        } catch {
            throw MailMapError(error.kind, map: spec, message: "\(spec): \(error.message)")
        }
        guard let first = values.first else { return nil }
        guard let delimiter else { return first }
        return values.joined(separator: delimiter)
    }

    /// A TLSA record's RDATA in presentation form (RFC 6698 §2.2): `3 1 1 a1b2…`.
    static func presentation(tlsa rdata: [UInt8]) -> String {
        let hex = rdata.dropFirst(3).map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
        return rdata.prefix(3).map(String.init).joined(separator: " ") + " " + hex
    }

    private func records(for key: String) async throws(MailMapError) -> [String] {
        let name = domain.map { "\(key).\($0)" } ?? key
        switch recordType {
        case .a: return try await resolver.ipv4Addresses(name).records
        case .aaaa: return try await resolver.ipv6Addresses(name).records
        case .mx: return try await resolver.mx(name).records.map(\.exchange)
        case .txt: return try await resolver.txt(name).records
        case .tlsa: return try await resolver.tlsa(name).records.map { Self.presentation(tlsa: $0) }
        case .dnsbl: return try await resolver.dnsbl(key, zone: domain ?? "")?.addresses ?? []
        }
    }
}
