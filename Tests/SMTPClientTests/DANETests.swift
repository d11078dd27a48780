import Foundation
import MailMaps
import MailTLS
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// DANE (RFC 7672) as the client applies it: MX, address and TLSA records from a loopback DNS
/// responder that sets the AD bit (as a validating resolver would) or from dnsmasq (which does
/// not), and aiosmtpd with STARTTLS on loopback.
@Suite("SMTPClient: DANE")
struct DANETests {
    /// The SHA-256 of the certificate's SubjectPublicKeyInfo, as a `3 1 1` record holds it.
    static func spkiDigest(_ certificate: String) throws -> [UInt8] {
        let digest = try ExternalTool.runChecked("sh", ["-c", "openssl x509 -in '\(certificate)' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex"])
        let hex = Array((digest.standardOutput.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        return stride(from: 0, to: hex.count - 1, by: 2).map { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }

    /// A domain name in DNS wire form (RFC 1035 §3.1).
    static func wire(_ name: String) -> [UInt8] {
        name.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func mx(_ preference: UInt16, _ host: String) -> DNSResponder.Record {
        DNSResponder.Record(type: 15, rdata: [UInt8(preference >> 8), UInt8(preference & 0xFF)] + wire(host))
    }

    static let loopback = DNSResponder.Record(type: 1, rdata: [127, 0, 0, 1])

    static func configuration(_ nameserver: String) throws -> SMTPClientConfiguration {
        var configuration = Mail.configuration()
        configuration.resolver = DNSResolver(configuration: .init(nameservers: [try .init(parsing: nameserver)], timeout: .seconds(2), attempts: 1))
        return configuration
    }

    static func send(to domain: String, port: Int, _ configuration: SMTPClientConfiguration) async throws(SMTPClientError) -> SMTPSendResult {
        try await SMTPClient.send(
            "Subject: dane\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@\(domain)")],
            via: .mailExchangers(for: domain, port: port, tls: .dane), configuration: configuration)
    }

    @Test("a validated DANE-EE record matches the server's key: authenticated without any CA")
    func authenticated() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        let record = [UInt8]([3, 1, 1]) + (try await offThread { try Self.spkiDigest(pki.serverCertificate) })
        let dns = try DNSResponder(records: [
            "dane.example.test": [Self.mx(10, "mx.example.test")],
            "mx.example.test": [Self.loopback],
            "_\(peer.port)._tcp.mx.example.test": [DNSResponder.Record(type: 52, rdata: record)],
        ], authenticatedData: true)
        let result = try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(dns.address))
        #expect(result.allAccepted)
        let facts = try #require(result.server.tls)
        #expect(facts.dane == .authenticated(try TLSARecord(rdata: record)))
        #expect(LoopbackPeer.messages(in: log).count == 1)
    }

    @Test("a validated record that does not match: that MX is not used; the next MX (no TLSA records) takes the mail")
    func mismatch() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        let wrong = DNSResponder.Record(type: 52, rdata: [3, 1, 1] + Array(repeating: 0xAB, count: 32))
        let dns = try DNSResponder(records: [
            "dane.example.test": [Self.mx(10, "mx.example.test"), Self.mx(20, "mx2.example.test")],
            "mx.example.test": [Self.loopback],
            "mx2.example.test": [Self.loopback],
            "_\(peer.port)._tcp.mx.example.test": [wrong],
        ], authenticatedData: true)
        let result = try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(dns.address))
        #expect(result.server.host == "mx2.example.test")
        #expect(result.server.tls?.dane == nil)
        #expect(LoopbackPeer.messages(in: log).count == 1)

        let alone = try DNSResponder(records: [
            "dane.example.test": [Self.mx(10, "mx.example.test")],
            "mx.example.test": [Self.loopback],
            "_\(peer.port)._tcp.mx.example.test": [wrong],
        ], authenticatedData: true)
        let error = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(alone.address))
        }
        #expect(error?.kind == .tlsFailed)
        #expect(error?.stage == .tlsHandshake)
        #expect(LoopbackPeer.messages(in: log).count == 1)
    }

    @Test("validated records none of which is usable (PKIX-TA only): TLS without authentication (RFC 7672 §2.2)")
    func noUsableRecords() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, _) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        let dns = try DNSResponder(records: [
            "dane.example.test": [Self.mx(10, "mx.example.test")],
            "mx.example.test": [Self.loopback],
            "_\(peer.port)._tcp.mx.example.test": [DNSResponder.Record(type: 52, rdata: [0, 0, 1] + Array(repeating: 0x11, count: 32))],
        ], authenticatedData: true)
        let result = try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(dns.address))
        #expect(result.allAccepted)
        #expect(result.server.tls?.dane == .noUsableRecords)
    }

    @Test("usable validated records and no STARTTLS: refused before MAIL, nothing sent in the clear")
    func requiredButNotOffered() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd()
        let dns = try DNSResponder(records: [
            "dane.example.test": [Self.mx(10, "mx.example.test")],
            "mx.example.test": [Self.loopback],
            "_\(peer.port)._tcp.mx.example.test": [DNSResponder.Record(type: 52, rdata: [3, 1, 1] + Array(repeating: 0x22, count: 32))],
        ], authenticatedData: true)
        let error = await #expect(throws: SMTPClientError.self) {
            try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(dns.address))
        }
        #expect(error?.kind == .tlsUnavailable)
        #expect(LoopbackPeer.messages(in: log).isEmpty)
    }

    @Test("TLSA records in an answer without the AD bit: opportunistic TLS (RFC 7672 §2.2)", arguments: ["responder", "dnsmasq"])
    func insecureAnswer(server: String) async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        // A record that does not match: were it believed, the delivery would fail.
        let wrong = [UInt8]([3, 1, 1]) + Array(repeating: 0xCD, count: 32)
        let responder: DNSResponder?
        let dnsmasq: DnsmasqServer?
        if server == "responder" {
            responder = try DNSResponder(records: [
                "dane.example.test": [Self.mx(10, "mx.example.test")],
                "mx.example.test": [Self.loopback],
                "_\(peer.port)._tcp.mx.example.test": [DNSResponder.Record(type: 52, rdata: wrong)],
            ], authenticatedData: false)
            dnsmasq = nil
        } else {
            responder = nil
            dnsmasq = try DnsmasqServer(records: [
                "--local=/example.test/",
                "--mx-host=dane.example.test,mx.example.test,10",
                "--host-record=mx.example.test,127.0.0.1",
                "--dns-rr=_\(peer.port)._tcp.mx.example.test,52,\(wrong.map { String(format: "%02x", $0) }.joined())",
            ])
        }
        let address = responder?.address ?? dnsmasq!.address
        let result = try await Self.send(to: "dane.example.test", port: peer.port, try Self.configuration(address))
        #expect(result.allAccepted)
        #expect(result.server.tls != nil)
        #expect(result.server.tls?.dane == nil)
        #expect(LoopbackPeer.messages(in: log).first?["tls"] as? Bool == true)
    }
}
