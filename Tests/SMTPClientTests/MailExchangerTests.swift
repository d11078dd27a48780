import Foundation
import MailMaps
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// Finding the server (RFC 5321 §5.1) through a private dnsmasq: MX records in preference order,
/// equal preferences shuffled, fallback through the list, implicit MX, both address families,
/// `[host]` and addresses skipping MX, a null MX (RFC 7505), a domain that does not exist.
@Suite("SMTPClient: MX order and fallback through dnsmasq")
struct MailExchangerTests {
    /// 127.0.0.1 is where the test server listens; 127.0.0.2–5 are loopback addresses where
    /// nothing listens on its port, so connections there are refused at once.
    static let records = [
        "--local=/example.test/",
        // fallback.example.test: the preferred MX is dead, the next one answers.
        "--mx-host=fallback.example.test,dead.example.test,10",
        "--mx-host=fallback.example.test,live.example.test,20",
        "--host-record=dead.example.test,127.0.0.2",
        "--host-record=live.example.test,127.0.0.1",
        // order.example.test: all dead; preference 5 first, the three of preference 10 in any order.
        "--mx-host=order.example.test,first.example.test,5",
        "--mx-host=order.example.test,b.example.test,10",
        "--mx-host=order.example.test,c.example.test,10",
        "--mx-host=order.example.test,d.example.test,10",
        "--host-record=first.example.test,127.0.0.2",
        "--host-record=b.example.test,127.0.0.3",
        "--host-record=c.example.test,127.0.0.4",
        "--host-record=d.example.test,127.0.0.5",
        // implicit.example.test: no MX, its own A record (RFC 5321 §5.1).
        "--host-record=implicit.example.test,127.0.0.1",
        // dual.example.test: IPv6 (refused here) and IPv4 addresses.
        "--host-record=dual.example.test,127.0.0.1,::1",
        "--host-record=deaddual.example.test,127.0.0.2,::1",
        // nullmx.example.test: RFC 7505.
        "--mx-host=nullmx.example.test,.,0",
        // backup.example.test: this host (self) is the second MX; the first is dead, the third
        // (like self) would take the message.
        "--mx-host=backup.example.test,dead.example.test,10",
        "--mx-host=backup.example.test,Self.Example.Test,20",
        "--mx-host=backup.example.test,live.example.test,30",
        "--host-record=self.example.test,127.0.0.1",
        // loop.example.test: this host is the best MX.
        "--mx-host=loop.example.test,self.example.test,10",
        "--mx-host=loop.example.test,live.example.test,20",
    ]

    static func configuration(_ dns: DnsmasqServer) throws -> SMTPClientConfiguration {
        var configuration = Mail.configuration()
        configuration.resolver = DNSResolver(configuration: .init(nameservers: [try .init(parsing: dns.address)], timeout: .seconds(2)))
        configuration.maximumAddressesTried = 10
        return configuration
    }

    static func send(to domain: String, port: Int, _ configuration: SMTPClientConfiguration) async throws(SMTPClientError) -> SMTPSendResult {
        try await SMTPClient.send(
            "Subject: mx\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@\(domain)")],
            via: .mailExchangers(for: domain, port: port, tls: .none), configuration: configuration)
    }

    @Test("the preferred MX refuses the connection: the next one takes the message")
    func fallback() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let sink = try SmtpSink(dump: true)
        let result = try await Self.send(to: "fallback.example.test", port: sink.port, try Self.configuration(dns))
        #expect(result.allAccepted)
        #expect(result.server.host == "live.example.test")
        #expect(result.server.mxPreference == 20)
        #expect(sink.dumpedMessages().count == 1)
    }

    @Test("MX hosts in preference order; those of equal preference shuffled")
    func order() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let port = try LoopbackPort.free()
        var secondHosts = Set<String>()
        for _ in 0..<24 {
            let error = await #expect(throws: SMTPClientError.self) {
                try await Self.send(to: "order.example.test", port: port, try Self.configuration(dns))
            }
            let message = try #require(error?.message)
            // "…; tried 4: first.example.test[127.0.0.2]: connect: …; b.example.test[…]: …"
            let list = try #require(message.range(of: "; tried ")).upperBound
            let attempts = message[list...].drop { $0 != ":" }.dropFirst(2).components(separatedBy: "; ")
            let tried = attempts.compactMap { $0.split(separator: "[").first.map(String.init) }
            #expect(tried.first == "first.example.test", "\(message)")
            #expect(Set(tried.dropFirst()) == ["b.example.test", "c.example.test", "d.example.test"], "\(message)")
            if tried.count > 1 { secondHosts.insert(tried[1]) }
            #expect(error?.kind == .connectionFailed)
            #expect(error?.isTemporary == true)
        }
        // 24 shuffles of three: the chance of one host always second is 3 × (1/3)^24.
        #expect(secondHosts.count > 1)
    }

    @Test("no MX records: the domain is its own mail exchanger")
    func implicitMX() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let sink = try SmtpSink()
        let result = try await Self.send(to: "implicit.example.test", port: sink.port, try Self.configuration(dns))
        #expect(result.allAccepted)
        #expect(result.server.host == "implicit.example.test")
        #expect(result.server.mxPreference == nil)
    }

    @Test("both address families: IPv6 first, then IPv4")
    func bothFamilies() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let sink = try SmtpSink()
        let result = try await Self.send(to: "dual.example.test", port: sink.port, try Self.configuration(dns))
        #expect(result.server.address == "127.0.0.1")
        let error = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "deaddual.example.test", port: sink.port, try Self.configuration(dns))
        }
        let message = try #require(error?.message)
        let v6 = try #require(message.range(of: "[::1]"))
        let v4 = try #require(message.range(of: "[127.0.0.2]"))
        #expect(v6.lowerBound < v4.lowerBound)
    }

    @Test("a bracketed host and an address skip MX")
    func noMXLookup() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let sink = try SmtpSink()
        // fallback.example.test has MX records pointing at a dead host, and no address of its own:
        // [live.example.test] must not look at any MX.
        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@fallback.example.test")],
            via: .host("[live.example.test]", port: sink.port, tls: .none), configuration: try Self.configuration(dns))
        #expect(result.server.host == "live.example.test")
        #expect(result.server.mxPreference == nil)
        let literal = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@example.test")],
            via: .host("[127.0.0.1]", port: sink.port, tls: .none), configuration: try Self.configuration(dns))
        #expect(literal.allAccepted)
        #expect(SMTPDestination.Target(parsing: "[IPv6:::1]") == .address("::1"))
        #expect(SMTPDestination.Target(parsing: "example.org") == .mailExchangers(domain: "example.org"))
        #expect(SMTPDestination.Target(parsing: "[mail.example.org]") == .host("mail.example.org"))
    }

    @Test("a null MX and a domain that does not exist fail at once, for good")
    func nowhere() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let null = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "nullmx.example.test", port: 25, try Self.configuration(dns))
        }
        #expect(null?.kind == .nullMX)
        #expect(null?.stage == .lookup)
        #expect(null?.reply?.enhancedCode == EnhancedStatusCode(5, 1, 10))
        #expect(null?.isTemporary == false)
        let missing = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "nosuch.example.test", port: 25, try Self.configuration(dns))
        }
        #expect(missing?.kind == .noSuchDomain)
        #expect(missing?.isTemporary == false)
    }

    @Test("a DNS server that does not answer: a temporary lookup failure")
    func dnsDown() async throws {
        let silent = try SilentUDPPort()
        var configuration = Mail.configuration()
        configuration.resolver = DNSResolver(configuration: .init(nameservers: [try .init(address: "127.0.0.1", port: silent.port)], timeout: .seconds(1), attempts: 1))
        let error = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "example.test", port: 25, configuration)
        }
        #expect(error?.kind == .lookupFailed)
        #expect(error?.stage == .lookup)
        #expect(error?.isTemporary == true)
    }

    @Test("this host among the MX records: it and every record not better go (RFC 5321 §5.1); as the best, the mail loops")
    func ownMailExchanger() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        let sink = try SmtpSink(dump: true)
        var configuration = try Self.configuration(dns)
        configuration.isLocalHostName = { $0 == "self.example.test" }
        // Without the rule, self (20) or live (30) would take it; with it only dead (10) is left.
        let backup = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "backup.example.test", port: sink.port, configuration)
        }
        let failure = try #require(backup)
        #expect(failure.kind == .connectionFailed, "\(failure)")
        #expect(!failure.message.contains("live.example.test"), "\(failure.message)")
        #expect(sink.dumpedMessages().isEmpty)

        let loop = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "loop.example.test", port: sink.port, configuration)
        }
        let looped = try #require(loop)
        #expect(looped.kind == .mailLoops)
        #expect(looped.reply?.code == 554)
        #expect(looped.reply?.enhancedCode?.description == "5.3.5")
        #expect(!looped.isTemporary)

        // The same domains without the rule: delivered.
        let plain = try await Self.send(to: "backup.example.test", port: sink.port, try Self.configuration(dns))
        #expect(plain.allAccepted)
    }
}
