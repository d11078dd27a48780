/// A client address found on a DNS blocklist (RFC 5782): the A records of its entry (`127.0.0.2`)
/// and, when asked for, its TXT reason.
public struct DNSBLListing: Hashable, Sendable {
    /// The name queried (`99.2.0.192.zen.example`).
    public let name: String
    /// The addresses the list returned, which some lists use as codes (`127.0.0.2`).
    public let addresses: [String]
    /// The list's TXT record for the entry, if it has one and it was asked for.
    public let reason: String?

    /// A listing.
    public init(name: String, addresses: [String], reason: String?) {
        self.name = name
        self.addresses = addresses
        self.reason = reason
    }
}
