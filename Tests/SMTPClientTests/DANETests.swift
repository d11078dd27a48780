import Foundation
import MailMaps
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// DANE (RFC 7672) as the client applies it, with TLSA records from a private dnsmasq and a
/// STARTTLS server on loopback.
@Suite("SMTPClient: DANE")
struct DANETests {
    /// The SHA-256 of the server certificate's SubjectPublicKeyInfo, as a `3 1 1` record holds it.
    static func spkiDigest(_ certificate: String) throws -> String {
        let digest = try ExternalTool.runChecked("sh", ["-c", "openssl x509 -in '\(certificate)' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex"])
        return String(digest.standardOutput.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("TLSA records in an answer that is not DNSSEC-authenticated: opportunistic TLS (RFC 7672 §2.2)")
    func insecureAnswer() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        let digest = try await offThread { try Self.spkiDigest(pki.serverCertificate) }
        let dns = try DnsmasqServer(records: [
            "--local=/example.test/",
            "--mx-host=dane.example.test,mx.example.test,10",
            "--host-record=mx.example.test,127.0.0.1",
            // 3 1 1 with the real digest, but dnsmasq's answers carry no AD bit.
            "--dns-rr=_\(peer.port)._tcp.mx.example.test,52,030101\(digest)",
        ])
        var configuration = Mail.configuration()
        configuration.resolver = DNSResolver(configuration: .init(nameservers: [try .init(parsing: dns.address)], timeout: .seconds(2)))
        let result = try await SMTPClient.send(
            "Subject: dane\r\n\r\nx\r\n", from: Mail.mailbox("alice@client.example.test"), to: [Mail.mailbox("bob@dane.example.test")],
            via: .mailExchangers(for: "dane.example.test", port: peer.port, tls: .dane), configuration: configuration)
        #expect(result.allAccepted)
        let facts = try #require(result.server.tls)
        // Encrypted, not authenticated by the records (they were not secure), nor by a CA.
        #expect(facts.matchedTLSARecord == nil)
        #expect(LoopbackPeer.messages(in: log).first?["tls"] as? Bool == true)
    }
}
