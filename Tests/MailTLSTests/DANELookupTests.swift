import MailMaps
import MailTLS
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

extension MailTLSSuite {
    /// DANE end to end as the SMTP client runs it: TLSA records looked up through MailMaps from a
    /// loopback resolver that sets the AD bit or not, read with `TLSARecord(rdata:)`, and a
    /// handshake with the verification they call for (RFC 7672 §2.2).
    @Suite("DANE from a TLSA lookup (MailMaps) to the handshake")
    struct DANELookupTests {
        static func verification(recordsFrom responder: DNSResponder) async throws -> TLSPeerVerification? {
            let resolver = DNSResolver(configuration: DNSResolver.Configuration(
                nameservers: [try .init(parsing: responder.address)], timeout: .seconds(2), attempts: 1))
            let answer = try await resolver.tlsa(port: 25, host: "mx.example.test")
            let records = try answer.records.map { try TLSARecord(rdata: $0) }
            return TLSPeerVerification.forTLSARecords(records, isAuthenticated: answer.isAuthenticated, hostNames: ["mx.example.test"])
        }

        @Test("records with the AD bit authenticate the server; the same records without it are not usable")
        func lookupToHandshake() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let record = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.untrustedServerCertificate)
            let zone = ["_25._tcp.mx.example.test": [DNSResponder.Record(type: 52, rdata: record.rdata)]]

            let validating = try DNSResponder(records: zone, authenticatedData: true)
            let verification = try #require(try await Self.verification(recordsFrom: validating))
            #expect(verification == .dane(records: [record], hostNames: ["mx.example.test"]))

            let plain = try DNSResponder(records: zone, authenticatedData: false)
            #expect(try await Self.verification(recordsFrom: plain) == nil, "records without AD must not be usable")

            // The handshake the validated records call for: the server's untrusted certificate is
            // authenticated by its record alone.
            let server = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.untrustedServerCertificate, privateKeyFile: pki.untrustedServerKey))
            let client = try TLSClientContext(configuration: TLSConfiguration())
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: client, serverName: "mx.example.test", verification: verification, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            let facts = try #require(try InMemoryPair.outcome(pair.clientHandshake)?.get())
            #expect(facts.dane == .authenticated(record))
        }
    }
}
