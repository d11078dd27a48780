#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DNSResolver {
    /// Where a ``DNSResolver`` sends its queries, how long it waits, and how long it keeps answers.
    public struct Configuration: Hashable, Sendable {
        /// A nameserver: a numeric IPv4 or IPv6 address and a port.
        public struct Nameserver: Hashable, Sendable, CustomStringConvertible {
            /// The numeric address (`127.0.0.1`, `::1`).
            public let address: String
            /// The UDP and TCP port (53 unless told otherwise).
            public let port: Int

            /// A nameserver at `address` (numeric IPv4 or IPv6) and `port`.
            ///
            /// - Throws: ``MailMapError`` of kind `badSpec` when the address is not numeric or the
            ///   port is out of range.
            public init(address: String, port: Int = 53) throws(MailMapError) {
                guard IPAddress(address) != nil, !address.hasPrefix("[") else {
                    throw MailMapError(.badSpec, map: "dns",
                        message: "nameserver \"\(address)\" is not a numeric IPv4 or IPv6 address")
                }
                guard (1...65535).contains(port) else {
                    throw MailMapError(.badSpec, map: "dns", message: "nameserver \(address): port \(port) is out of range (1-65535)")
                }
                self.address = address
                self.port = port
            }

            /// Parses `192.0.2.53`, `192.0.2.53:5353`, `::1`, or `[::1]:5353`.
            ///
            /// - Throws: ``MailMapError`` of kind `badSpec` naming the text.
            public init(parsing text: String) throws(MailMapError) {
                let trimmed = text.trimmingWhitespace()
                if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
                    let address = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                    let rest = trimmed[trimmed.index(after: close)...]
                    guard rest.isEmpty || (rest.hasPrefix(":") && Int(rest.dropFirst()) != nil) else {
                        throw MailMapError(.badSpec, map: "dns", message: "nameserver \"\(text)\" does not parse (expected [address]:port)")
                    }
                    try self.init(address: address, port: rest.isEmpty ? 53 : Int(rest.dropFirst())!)
                } else if trimmed.filter({ $0 == ":" }).count == 1, let colon = trimmed.firstIndex(of: ":") {
                    guard let port = Int(trimmed[trimmed.index(after: colon)...]) else {
                        throw MailMapError(.badSpec, map: "dns", message: "nameserver \"\(text)\" has a port that is not a number")
                    }
                    try self.init(address: String(trimmed[..<colon]), port: port)
                } else {
                    try self.init(address: trimmed, port: 53)
                }
            }

            /// `address:port`, or `[address]:port` for IPv6.
            public var description: String {
                address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
            }
        }

        /// The nameservers to ask, in order (at most three, as the resolver allows); empty means
        /// those of /etc/resolv.conf.
        public var nameservers: [Nameserver]
        /// How long to wait for an answer before asking again or the next server (whole seconds,
        /// at least one: the resolver's `timeout` option).
        public var timeout: Duration
        /// How many times each server is asked (the resolver's `attempts` option).
        public var attempts: Int
        /// The most answers kept in memory.
        public var cacheCapacity: Int
        /// The longest an answer is kept, whatever its TTL says.
        public var maximumTTL: Duration
        /// How long "no such name" and "no such record" are kept when the answer carries no SOA
        /// record to say (RFC 2308 §5).
        public var negativeTTL: Duration
        /// Whose AD bit is believed (RFC 7672 §2.1.1): a validating resolver on this host by
        /// default; see ``AuthenticatedDataTrust``.
        public var authenticatedDataTrust: AuthenticatedDataTrust

        /// The nameservers of /etc/resolv.conf, a 5-second timeout, two attempts, answers kept by
        /// their TTL up to an hour, negative answers five minutes, the AD bit believed from
        /// loopback nameservers only.
        public init(
            nameservers: [Nameserver] = [],
            timeout: Duration = .seconds(5),
            attempts: Int = 2,
            cacheCapacity: Int = 10_000,
            maximumTTL: Duration = .seconds(3600),
            negativeTTL: Duration = .seconds(300),
            authenticatedDataTrust: AuthenticatedDataTrust = .loopbackNameservers
        ) {
            self.nameservers = nameservers
            self.timeout = timeout
            self.attempts = attempts
            self.cacheCapacity = cacheCapacity
            self.maximumTTL = maximumTTL
            self.negativeTTL = negativeTTL
            self.authenticatedDataTrust = authenticatedDataTrust
        }
    }
}
