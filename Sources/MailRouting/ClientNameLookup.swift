public import MailMaps

/// Finds a client's host name as Sendmail does before it greets (its `${client_name}` and
/// `${client_resolve}`): the reverse lookup of the address — the host table first, then DNS PTR
/// (RFC 1035 §3.5, RFC 3596 §2.5) — confirmed by a forward lookup of the name that must give the
/// address back (RFC 1912 §2.1). Only a confirmed name is the client's ``ClientIdentity/hostName``;
/// access `Connect:` entries by name and relaying by name (`relay-domains`, access `RELAY`, class
/// `w`) use nothing else.
///
/// The lookups run on the resolver's own pool (`WorkerPool.dnsLookups`): a nameserver that never
/// answers delays that one client's greeting by the resolver's timeout, never another session.
public struct ClientNameLookup: Sendable {
    /// The host table consulted before DNS (`/etc/hosts`), or `nil` for DNS alone.
    public var hosts: HostsFile?
    /// The resolver for PTR, A and AAAA queries, or `nil` for the host table alone.
    public var resolver: DNSResolver?

    /// Looks names up in `hosts` first, then with `resolver`; with neither, every client's name
    /// resolution is ``ClientIdentity/NameResolution/failed``. Nothing is read or queried until
    /// ``identify(_:)``.
    public init(hosts: HostsFile?, resolver: DNSResolver?) {
        self.hosts = hosts
        self.resolver = resolver
    }

    /// Who `address` is: its confirmed host name and how it was found.
    ///
    /// A reverse name whose forward lookup does not hold the address is `forged` (no host name);
    /// no reverse name is `failed`; a nameserver that does not answer, either way, is
    /// `temporaryFailure` — the three cases Sendmail's relay check refuses with "IP name possibly
    /// forged", "IP name lookup failed" and "Cannot resolve PTR record".
    public func identify(_ address: String) async -> ClientIdentity {
        guard let canonical = HostsFile.canonical(address) else {
            return ClientIdentity(address: address, nameResolution: .failed)
        }
        let name: String
        if let known = hosts?.hostName(of: canonical) {
            name = known
        } else if let resolver {
            do {
                guard let first = try await resolver.hostNames(of: canonical).records.first else {
                    return ClientIdentity(address: address, nameResolution: .failed)
                }
                name = first
            } catch {
                return ClientIdentity(address: address, nameResolution: error.kind == .unavailable ? .temporaryFailure : .failed)
            }
        } else {
            return ClientIdentity(address: address, nameResolution: .failed)
        }
        if hosts?.addresses(of: name).contains(canonical) == true {
            return ClientIdentity(address: address, hostName: name, nameResolution: .confirmed)
        }
        guard let resolver else { return ClientIdentity(address: address, nameResolution: .forged) }
        do {
            let forward = canonical.contains(":")
                ? try await resolver.ipv6Addresses(name).records
                : try await resolver.ipv4Addresses(name).records
            let confirmed = forward.contains { HostsFile.canonical($0) == canonical }
            return confirmed
                ? ClientIdentity(address: address, hostName: name, nameResolution: .confirmed)
                : ClientIdentity(address: address, nameResolution: .forged)
        } catch {
            return ClientIdentity(address: address, nameResolution: error.kind == .unavailable ? .temporaryFailure : .forged)
        }
    }
}
