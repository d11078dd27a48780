extension DNSResolver.Configuration {
    /// Whose AD ("authentic data") bit a ``DNSResolver`` believes, which decides
    /// ``DNSAnswer/isAuthenticated`` — and so whether TLSA records may be used for DANE
    /// (RFC 7672 §2.2).
    ///
    /// A stub resolver cannot check DNSSEC itself; it can only trust a resolver that does and says
    /// so with the AD bit (RFC 4035 §3.2.3). That is safe when nothing can forge the bit on the way
    /// (RFC 6698 §4.1, RFC 7672 §2.1.1): a validating resolver on the same host, or one reached over
    /// a path the deployment secures itself. A resolver is trusted only when *every* nameserver it
    /// asks is (the stub resolver does not say which server answered).
    ///
    /// ## Deploying DANE
    ///
    /// The default, ``loopbackNameservers``, expects a validating resolver on this host —
    /// unbound, Knot Resolver, BIND, systemd-resolved with `DNSSEC=yes` (127.0.0.53), or dnsmasq
    /// with `--dnssec` — named in /etc/resolv.conf or in ``DNSResolver/Configuration/nameservers``.
    /// A loopback resolver that does not validate does not set the bit, and then no TLSA record is
    /// usable: delivery falls back to opportunistic TLS, never to a forged authentication. (A
    /// forwarder that passes an upstream's AD bit on, such as dnsmasq's `--proxy-dnssec`, extends
    /// the trust to that upstream and its path; configure it only towards a resolver you trust.)
    ///
    /// A validating resolver elsewhere — on a trusted LAN, over IPsec or WireGuard — is trusted by
    /// naming it with ``nameservers(_:)``. ``never`` turns DANE off.
    public enum AuthenticatedDataTrust: Hashable, Sendable, CustomStringConvertible {
        /// The AD bit is never believed: every answer is unauthenticated.
        case never
        /// The AD bit is believed when every nameserver is a loopback address (127.0.0.0/8, ::1):
        /// a validating resolver on this host. The default.
        case loopbackNameservers
        /// The AD bit is believed when every nameserver is one of these (address and port): the
        /// explicit "trust AD from this nameserver" setting, for a validating resolver on a path the
        /// deployment secures.
        case nameservers([Nameserver])

        /// `never`, `loopback`, or `nameservers(192.0.2.53:53, …)`.
        public var description: String {
            switch self {
            case .never: "never"
            case .loopbackNameservers: "loopback"
            case .nameservers(let servers): "nameservers(" + servers.map(\.description).joined(separator: ", ") + ")"
            }
        }

        /// Whether answers from `servers` (all the nameservers one resolver state asks) carry a
        /// believable AD bit; never for an empty list.
        package func trusts(_ servers: [Nameserver]) -> Bool {
            guard !servers.isEmpty else { return false }
            switch self {
            case .never:
                return false
            case .loopbackNameservers:
                return servers.allSatisfy { Self.isLoopback($0.address) }
            case .nameservers(let trusted):
                return servers.allSatisfy { server in
                    trusted.contains { $0.port == server.port && IPAddress($0.address) == IPAddress(server.address) }
                }
            }
        }

        private static func isLoopback(_ address: String) -> Bool {
            switch IPAddress(address) {
            case .v4(let octets)?: octets.first == 127
            case .v6(let groups)?: groups == [0, 0, 0, 0, 0, 0, 0, 1]
            case nil: false
            }
        }
    }
}
