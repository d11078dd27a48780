/// What a DNS query gave: the records of the type asked for, or why there are none.
public struct DNSAnswer<Record: Hashable & Sendable>: Hashable, Sendable {
    /// The name asked about.
    public let name: String
    /// The records, in the order the server gave them (MX sorted by preference).
    public let records: [Record]
    /// `false` when the name does not exist (NXDOMAIN, RFC 8020); `true` when it exists, with or
    /// without records of the type asked for.
    public let nameExists: Bool
    /// Whether the answer came with the AD bit (RFC 4035 §3.2.3) from a resolver trusted to
    /// validate DNSSEC (see ``DNSResolver/Configuration/authenticatedDataTrust``). For TLSA records
    /// this is what makes them usable for DANE (RFC 7672 §2.2); without it they are not.
    public let isAuthenticated: Bool
    /// How long the answer may be kept.
    public let ttl: Duration

    /// An answer for `name`.
    public init(name: String, records: [Record], nameExists: Bool, isAuthenticated: Bool, ttl: Duration) {
        self.name = name
        self.records = records
        self.nameExists = nameExists
        self.isAuthenticated = isAuthenticated
        self.ttl = ttl
    }
}
