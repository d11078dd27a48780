import MailMaps
import Testing
import TestSupport

/// The AD bit (RFC 4035 §3.2.3) of TLSA answers, which decides whether DANE may use them
/// (RFC 7672 §2.2): believed only from the nameservers ``DNSResolver/Configuration/authenticatedDataTrust``
/// trusts. A responder written for the test sets or clears the bit (dnsmasq sets it only with
/// DNSSEC); dnsmasq in front of it shows what a local forwarder does with the bit.
@Suite("DNS: whose AD bit makes TLSA records usable", .serialized)
struct DNSAuthenticatedDataTests {
    static let name = "_25._tcp.mx.example.test"
    static let rdata: [UInt8] = [3, 1, 1] + [UInt8](repeating: 0xab, count: 32)

    static func responder(authenticatedData: Bool) throws -> DNSResponder {
        try DNSResponder(records: [name: [.init(type: 52, rdata: rdata)]], authenticatedData: authenticatedData)
    }

    static func lookUp(
        _ nameserver: String, trust: DNSResolver.Configuration.AuthenticatedDataTrust = .loopbackNameservers
    ) async throws -> DNSAnswer<[UInt8]> {
        let resolver = DNSResolver(configuration: DNSResolver.Configuration(
            nameservers: [try .init(parsing: nameserver)], timeout: .seconds(2), attempts: 1,
            authenticatedDataTrust: trust))
        return try await resolver.tlsa(port: 25, host: "mx.example.test")
    }

    @Test("a loopback resolver that validated (AD set) is believed by default; without AD the records are not usable")
    func loopbackByDefault() async throws {
        let validating = try Self.responder(authenticatedData: true)
        let answer = try await Self.lookUp(validating.address)
        #expect(answer.records == [Self.rdata])
        #expect(answer.isAuthenticated)

        let plain = try Self.responder(authenticatedData: false)
        let unvalidated = try await Self.lookUp(plain.address)
        #expect(unvalidated.records == [Self.rdata])
        #expect(!unvalidated.isAuthenticated)
        #expect(validating.queriesAnswered >= 1 && plain.queriesAnswered >= 1)
    }

    @Test("trust can be turned off, or given to named nameservers only")
    func explicitTrust() async throws {
        let validating = try Self.responder(authenticatedData: true)
        #expect(!(try await Self.lookUp(validating.address, trust: .never)).isAuthenticated)
        let named = try DNSResolver.Configuration.Nameserver(parsing: validating.address)
        #expect(try await Self.lookUp(validating.address, trust: .nameservers([named])).isAuthenticated)
        // Another server (another port here) is not this one, loopback or not.
        let other = try DNSResolver.Configuration.Nameserver(address: "127.0.0.1", port: validating.port == 53 ? 54 : 53)
        #expect(!(try await Self.lookUp(validating.address, trust: .nameservers([other]))).isAuthenticated)
    }

    @Test("the policy's rules: loopback means every nameserver on 127/8 or ::1")
    func rules() throws {
        typealias Trust = DNSResolver.Configuration.AuthenticatedDataTrust
        let loopback = try DNSResolver.Configuration.Nameserver(parsing: "127.0.0.53")
        let loopback6 = try DNSResolver.Configuration.Nameserver(parsing: "[::1]:5353")
        let remote = try DNSResolver.Configuration.Nameserver(parsing: "192.0.2.53")
        #expect(DNSResolver.Configuration().authenticatedDataTrust == .loopbackNameservers)
        #expect(Trust.loopbackNameservers.description == "loopback")
        #expect(Trust.nameservers([remote]).description == "nameservers(192.0.2.53:53)")
        for (trust, servers, expected) in [
            (Trust.loopbackNameservers, [loopback], true),
            (.loopbackNameservers, [loopback6], true),
            (.loopbackNameservers, [loopback, remote], false),
            (.loopbackNameservers, [], false),
            (.nameservers([remote]), [remote], true),
            (.nameservers([remote]), [remote, loopback], false),
            (.never, [loopback], false),
        ] {
            #expect(trust.trusts(servers) == expected, "\(trust) \(servers)")
        }
    }

    @Test("dnsmasq in front: it clears the AD bit unless told to pass it on (--proxy-dnssec)")
    func forwardingResolver() async throws {
        let upstream = try Self.responder(authenticatedData: true)
        for (options, expected) in [([String](), false), (["--proxy-dnssec"], true)] {
            let forwarder = try await offThread {
                try DnsmasqServer(records: ["--server=127.0.0.1#\(upstream.port)", "--no-negcache"] + options)
            }
            defer { forwarder.stop() }
            let answer = try await Self.lookUp(forwarder.address)
            #expect(answer.records == [Self.rdata], "\(options)")
            #expect(answer.isAuthenticated == expected, "\(options)")
        }
    }
}
