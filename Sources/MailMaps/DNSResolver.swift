internal import CResolver
public import MailSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// DNS lookups for mail: MX (RFC 5321 §5.1), A and AAAA, TXT, TLSA (RFC 6698, for DANE, RFC 7672)
/// and DNS blocklists (RFC 5782), through the libc stub resolver (`res_nmkquery`, `res_nsend`,
/// `ns_initparse`, `ns_parserr`).
///
/// Queries block in the resolver, so they run on a `WorkerPool` of their own
/// (`WorkerPool.Configuration.dnsLookups` unless given another), never on the caller's thread
/// nor on the threads file maps use: a nameserver that never answers occupies the DNS pool only.
/// A query the pool cannot take (its queue is full), or that is not answered within the pool's
/// deadline, fails at once with kind `unavailable`; give a resolver that waits longer than the
/// pool's deadline (``Configuration/timeout`` × ``Configuration/attempts`` per nameserver) a pool
/// with a longer one. Answers are kept for their TTL (negative answers by the SOA's minimum, RFC 2308 §5),
/// up to ``Configuration/maximumTTL``. "No such name" and "no such record" are answers
/// (``DNSAnswer/records`` empty); a server that does not answer, fails (SERVFAIL) or refuses is an
/// error of kind `unavailable`.
public final class DNSResolver: Sendable {
    /// Nameservers, timeouts and cache limits.
    public let configuration: Configuration
    /// Where the blocking resolver calls run.
    public let threadPool: WorkerPool

    private let cache: DNSCache
    private let idle = Mutex<[ResolverState]>([])

    /// A resolver with `configuration`, querying on `threadPool`; nothing is read or sent until
    /// the first query.
    public init(configuration: Configuration = Configuration(), threadPool: WorkerPool = .dnsLookups) {
        self.configuration = configuration
        self.threadPool = threadPool
        self.cache = DNSCache(capacity: configuration.cacheCapacity)
    }

    /// The mail exchangers of `domain`, lowest preference first (RFC 5321 §5.1); servers of
    /// equal preference keep the order the answer gave.
    public func mx(_ domain: String) async throws(MailMapError) -> DNSAnswer<MXRecord> {
        let response = try await query(domain, type: .mx)
        let records = response.records.compactMap { record -> MXRecord? in
            if case .mx(let mx) = record { return mx }
            return nil
        }
        let sorted = records.enumerated().sorted {
            ($0.element.preference, $0.offset) < ($1.element.preference, $1.offset)
        }.map(\.element)
        return response.answer(name: domain, records: sorted)
    }

    /// The IPv4 addresses of `name` (A records), as dotted quads.
    public func ipv4Addresses(_ name: String) async throws(MailMapError) -> DNSAnswer<String> {
        try await addresses(name, type: .a)
    }

    /// The IPv6 addresses of `name` (AAAA records), compressed as `inet_ntop` writes them.
    public func ipv6Addresses(_ name: String) async throws(MailMapError) -> DNSAnswer<String> {
        try await addresses(name, type: .aaaa)
    }

    /// The TXT records of `name`, each record's strings joined (RFC 7208 §3.3).
    public func txt(_ name: String) async throws(MailMapError) -> DNSAnswer<String> {
        let response = try await query(name, type: .txt)
        return response.answer(name: name, records: response.records.compactMap { record -> String? in
            if case .text(let text) = record { return text }
            return nil
        })
    }

    /// The TLSA records of `name` (`_25._tcp.mx.example.com`, RFC 6698 §3), each as its RDATA in
    /// wire form (RFC 6698 §2.1): certificate usage, selector and matching type (one octet each),
    /// then the certificate association data; every record has at least the three octets.
    ///
    /// MailMaps does not interpret the records: MailTLS owns the one TLSA type (its
    /// `TLSARecord(rdata:)` reads this form), and the two never import each other. Whether the
    /// records may be used for DANE is ``DNSAnswer/isAuthenticated`` (RFC 7672 §2.2): the AD bit
    /// of an answer from a resolver ``Configuration/authenticatedDataTrust`` trusts.
    public func tlsa(_ name: String) async throws(MailMapError) -> DNSAnswer<[UInt8]> {
        let response = try await query(name, type: .tlsa)
        return response.answer(name: name, records: response.records.compactMap { record -> [UInt8]? in
            if case .tlsa(let rdata) = record { return rdata }
            return nil
        })
    }

    /// The TLSA records for a TCP service: `_port._tcp.host` (RFC 6698 §3, RFC 7672 §2.2), as
    /// ``tlsa(_:)`` returns them.
    public func tlsa(port: Int, host: String) async throws(MailMapError) -> DNSAnswer<[UInt8]> {
        try await tlsa("_\(port)._tcp.\(host)")
    }

    /// The host names of `address` (IPv4 or IPv6): the PTR records of its `in-addr.arpa` or
    /// `ip6.arpa` name (RFC 1035 §3.5, RFC 3596 §2.5), without their final dot, in the order of
    /// the answer. A name found this way proves nothing until a forward lookup of it gives the
    /// address back (Sendmail's `${client_resolve}` `OK`; RFC 1912 §2.1).
    ///
    /// - Throws: ``MailMapError``: `lookupFailed` when `address` is not an IP address,
    ///   `unavailable` when the nameservers do not answer.
    public func hostNames(of address: String) async throws(MailMapError) -> DNSAnswer<String> {
        let zone: String
        switch IPAddress(address) {
        case .v4: zone = "in-addr.arpa"
        case .v6: zone = "ip6.arpa"
        case nil: zone = ""
        }
        guard !zone.isEmpty, let name = MailMapKeys.dnsblName(for: address, zone: zone) else {
            throw MailMapError(.lookupFailed, map: "dns", message: "PTR: \"\(address)\" is not an IP address")
        }
        let response = try await query(name, type: .ptr)
        return response.answer(name: name, records: response.records.compactMap { record -> String? in
            if case .name(let host) = record { return host }
            return nil
        })
    }

    /// Whether `address` (IPv4 or IPv6) is listed on the blocklist `zone` (RFC 5782 §2): the A
    /// records of its entry, and its TXT record when `withReason`; `nil` when it is not listed.
    ///
    /// - Throws: ``MailMapError``: `lookupFailed` when `address` is not an IP address,
    ///   `unavailable` when the list's servers do not answer.
    public func dnsbl(_ address: String, zone: String, withReason: Bool = false) async throws(MailMapError) -> DNSBLListing? {
        guard let name = MailMapKeys.dnsblName(for: address, zone: zone) else {
            throw MailMapError(.lookupFailed, map: "dns",
                message: "DNSBL \(zone): \"\(address)\" is not an IP address")
        }
        let answer = try await ipv4Addresses(name)
        guard !answer.records.isEmpty else { return nil }
        let reason = withReason ? try await txt(name).records.first : nil
        return DNSBLListing(name: name, addresses: answer.records, reason: reason)
    }

    /// Forgets every answer kept.
    public func removeAllCachedAnswers() {
        cache.removeAll()
    }

    /// The nameservers queries go to, for messages.
    var nameserverDescription: String {
        configuration.nameservers.isEmpty
            ? "the nameservers of /etc/resolv.conf"
            : "nameserver " + configuration.nameservers.map(\.description).joined(separator: ", ")
    }

    private func addresses(_ name: String, type: DNSRecordType) async throws(MailMapError) -> DNSAnswer<String> {
        let response = try await query(name, type: type)
        return response.answer(name: name, records: response.records.compactMap { record -> String? in
            if case .address(let address) = record { return address }
            return nil
        })
    }

    /// One query, answered from the cache when it can be.
    func query(_ name: String, type: DNSRecordType) async throws(MailMapError) -> DNSResponse {
        let queryName = name.hasSuffix(".") && name.count > 1 ? String(name.dropLast()) : name
        let key = "\(type.rawValue) \(MailMapOptions.asciiLowercased(queryName))"
        if let cached = cache.response(for: key) { return cached }
        guard !queryName.isEmpty, queryName.utf8.count <= 253,
              !queryName.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) else {
            throw MailMapError(.lookupFailed, map: "dns",
                message: "DNS \(type) query: \"\(queryName)\" is not a domain name")
        }
        let response = try await threadPool.run(forMap: "dns") { () throws(MailMapError) -> DNSResponse in
            try self.performBlocking(queryName, type: type)
        }
        cache.store(response, for: key)
        return response
    }

    private func performBlocking(_ name: String, type: DNSRecordType) throws(MailMapError) -> DNSResponse {
        let state = try takeState()
        defer { idle.withLock { $0.append(state) } }
        let length = swiftmta_res_query(state.state, name, type.rawValue, state.buffer, Int32(ResolverState.bufferSize))
        switch length {
        case -1:
            throw MailMapError(.lookupFailed, map: "dns",
                message: "DNS \(type) query: \"\(name)\" is not a valid domain name")
        case ..<0:
            let reason = errno == ECONNREFUSED ? "the connection was refused" : "no answer within \(configuration.timeout)"
            throw MailMapError(.unavailable, map: "dns",
                message: "DNS \(type) query for \(name) failed: \(reason) from \(nameserverDescription)")
        default:
            break
        }
        let parsed = DNSMessageParser.parse(
            UnsafeRawBufferPointer(start: state.buffer, count: Int(length)), type: type,
            maximumTTL: configuration.maximumTTL, negativeTTL: configuration.negativeTTL,
            trustsAuthenticatedData: state.trustsAuthenticatedData)
        switch parsed {
        case .success(let response):
            return response
        case .failure(let failure):
            throw MailMapError(failure.isTemporary ? .unavailable : .lookupFailed, map: "dns",
                message: "DNS \(type) query for \(name) failed: \(failure.reason) (\(nameserverDescription))")
        }
    }

    private func takeState() throws(MailMapError) -> ResolverState {
        if let state = idle.withLock({ $0.popLast() }) { return state }
        return try ResolverState(configuration: configuration)
    }
}

/// The record types MailMaps asks for.
package enum DNSRecordType: Int32, Sendable, CustomStringConvertible {
    case a = 1
    case ptr = 12
    case mx = 15
    case txt = 16
    case aaaa = 28
    case tlsa = 52

    package var description: String {
        switch self {
        case .a: "A"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .tlsa: "TLSA"
        }
    }
}

/// One record of an answer, decoded.
enum DNSRecordData: Hashable, Sendable {
    case address(String)
    /// A domain name (PTR, RFC 1035 §3.3.12), without its final dot.
    case name(String)
    case mx(MXRecord)
    case text(String)
    /// The RDATA (RFC 6698 §2.1), at least three octets.
    case tlsa([UInt8])
}

/// A decoded answer, as the cache keeps it.
package struct DNSResponse: Hashable, Sendable {
    var records: [DNSRecordData]
    var nameExists: Bool
    var isAuthenticated: Bool
    var ttl: Duration

    func answer<Record>(name: String, records: [Record]) -> DNSAnswer<Record> {
        DNSAnswer(name: name, records: records, nameExists: nameExists, isAuthenticated: isAuthenticated, ttl: ttl)
    }
}

/// Owns one `res_state` (set up by `res_ninit`, nameservers replaced as configured) and the
/// buffer answers land in. Used by one thread at a time: ``DNSResolver`` keeps idle ones in a list.
final class ResolverState: @unchecked Sendable {
    static let bufferSize = 65536
    let state: res_state
    let buffer: UnsafeMutablePointer<UInt8>
    /// Whether the AD bit of this state's answers is believed: every nameserver it asks is one
    /// ``DNSResolver/Configuration/authenticatedDataTrust`` trusts.
    let trustsAuthenticatedData: Bool

    init(configuration: DNSResolver.Configuration) throws(MailMapError) {
        var status: Int32 = 0
        guard let created = swiftmta_res_new(&status) else {
            throw MailMapError(.unavailable, map: "dns", message: "DNS: cannot allocate a resolver state")
        }
        guard status == 0 else {
            swiftmta_res_free(created)
            throw MailMapError(.unavailable, map: "dns", message: "DNS: the resolver cannot be initialised from /etc/resolv.conf")
        }
        if !configuration.nameservers.isEmpty {
            swiftmta_res_clear_nameservers(created)
            for server in configuration.nameservers.prefix(Int(MAXNS)) {
                guard swiftmta_res_add_nameserver(created, server.address, UInt16(server.port)) == 0 else {
                    swiftmta_res_free(created)
                    throw MailMapError(.badSpec, map: "dns", message: "DNS: nameserver \(server) cannot be used")
                }
            }
        }
        let seconds = configuration.timeout.components.seconds + (configuration.timeout.components.attoseconds > 0 ? 1 : 0)
        swiftmta_res_set_timing(created, Int32(clamping: max(1, seconds)), Int32(clamping: max(1, configuration.attempts)))
        let trusted = configuration.authenticatedDataTrust.trusts(Self.nameservers(of: created))
        // glibc passes the AD bit on (and asks for it) only with RES_TRUSTAD; without it the bit
        // is cleared from every answer.
        swiftmta_res_set_option(created, swiftmta_res_opt_trustad(), trusted ? 1 : 0)
        self.trustsAuthenticatedData = trusted
        self.state = created
        self.buffer = .allocate(capacity: Self.bufferSize)
    }

    deinit {
        swiftmta_res_free(state)
        buffer.deallocate()
    }

    /// The nameservers `state` asks, in order: those configured, or those of /etc/resolv.conf.
    /// Empty when any of them cannot be read, so that an unknown server is never trusted.
    static func nameservers(of state: res_state) -> [DNSResolver.Configuration.Nameserver] {
        var servers: [DNSResolver.Configuration.Nameserver] = []
        for index in 0..<swiftmta_res_nscount(state) {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            var port: UInt16 = 0
            guard swiftmta_res_nameserver(state, index, &text, Int32(text.count), &port) == 0 else { return [] }
            let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let server = try? DNSResolver.Configuration.Nameserver(address: address, port: Int(port)) else { return [] }
            servers.append(server)
        }
        return servers
    }
}
