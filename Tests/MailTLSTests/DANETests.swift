import MailTLS
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

extension MailTLSSuite {
    @Suite("DANE TLSA matching (RFC 7672) through OpenSSL's DANE API")
    struct DANETests {
        struct Case: Sendable, CustomTestStringConvertible {
            let usage: Int, selector: Int, matchingType: Int
            /// Which certificate the record is computed from: the leaf or the intermediate CA.
            let fromIntermediate: Bool
            var testDescription: String { "\(usage) \(selector) \(matchingType) of the \(fromIntermediate ? "intermediate" : "leaf")" }
        }

        @Test("records computed by openssl from the chain match", arguments: [
            Case(usage: 3, selector: 1, matchingType: 1, fromIntermediate: false),
            Case(usage: 3, selector: 0, matchingType: 1, fromIntermediate: false),
            Case(usage: 3, selector: 1, matchingType: 2, fromIntermediate: false),
            Case(usage: 3, selector: 0, matchingType: 0, fromIntermediate: false),
            Case(usage: 3, selector: 1, matchingType: 0, fromIntermediate: false),
            Case(usage: 2, selector: 0, matchingType: 1, fromIntermediate: true),
            Case(usage: 2, selector: 1, matchingType: 1, fromIntermediate: true),
            Case(usage: 2, selector: 0, matchingType: 2, fromIntermediate: true),
        ])
        func matching(_ test: Case) async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            let record = try await TestPKI.tlsa(
                usage: test.usage, selector: test.selector, matchingType: test.matchingType,
                certificate: test.fromIntermediate ? pki.intermediateCertificate : pki.serverLeaf)
            let unrelated = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.untrustedServerCertificate)
            let matched = try DANEMatcher.match(chain: chain, records: [unrelated, record], hostNames: ["mx.example.test"])
            #expect(matched == record)
        }

        @Test("records that do not match are refused with OpenSSL's reason")
        func notMatching() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            var record = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            record.data[0] ^= 0xFF
            let other = try await TestPKI.tlsa(usage: 3, selector: 0, matchingType: 1, certificate: pki.untrustedServerCertificate)
            let error = #expect(throws: TLSError.self) {
                try DANEMatcher.match(chain: chain, records: [record, other], hostNames: ["mx.example.test"])
            }
            #expect(error?.kind == .verificationFailed)
            #expect(error?.message.contains("no matching DANE TLSA records") == true, "\(String(describing: error))")
        }

        @Test("DANE-TA needs the host name; DANE-EE does not (RFC 7672 §3.1.1, §3.2.2)")
        func nameChecks() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            let trustAnchor = try await TestPKI.tlsa(usage: 2, selector: 1, matchingType: 1, certificate: pki.intermediateCertificate)
            let endEntity = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            let error = #expect(throws: TLSError.self) {
                try DANEMatcher.match(chain: chain, records: [trustAnchor], hostNames: ["smtp.elsewhere.test"])
            }
            #expect(error?.message.contains("hostname mismatch") == true, "\(String(describing: error))")
            #expect(try DANEMatcher.match(chain: chain, records: [endEntity], hostNames: ["smtp.elsewhere.test"]) == endEntity)
        }

        @Test("PKIX usages are unusable in SMTP; with nothing usable, matching fails")
        func unusable() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            let pkix = try await TestPKI.tlsa(usage: 1, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            #expect(!pkix.isUsableForSMTP)
            let error = #expect(throws: TLSError.self) {
                try DANEMatcher.match(chain: chain, records: [pkix], hostNames: ["mx.example.test"])
            }
            #expect(error?.kind == .verificationFailed)
            #expect(error?.message.contains("none of the 1 TLSA records") == true)
        }

        @Test("a handshake verified by DANE-EE, without any trusted CA, and one refused")
        func handshake() async throws {
            let pki = try await TestPKI.sharedOffThread()
            // The server's certificate comes from a CA nobody trusts; only the TLSA record vouches for it.
            let server = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.untrustedServerCertificate, privateKeyFile: pki.untrustedServerKey))
            let client = try TLSClientContext(configuration: TLSConfiguration())
            let record = try TestPKI.tlsaBlocking(usage: 3, selector: 1, matchingType: 1, certificate: pki.untrustedServerCertificate)

            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: client, serverName: "mx.example.test",
                                         verification: .dane(records: [record], hostNames: ["mx.example.test"]), handshakePromise: $0) },
                server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            let facts = try #require(try InMemoryPair.outcome(pair.clientHandshake)?.get())
            #expect(facts.verification == .ok)
            #expect(facts.matchedTLSARecord == record)
            #expect(facts.description.contains("dane=DANE-EE"))

            let wrong = try TestPKI.tlsaBlocking(usage: 3, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            let refused = try InMemoryPair(
                client: { try TLSHandler(clientContext: client, serverName: "mx.example.test",
                                         verification: .dane(records: [wrong], hostNames: ["mx.example.test"]), handshakePromise: $0) },
                server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
            defer { refused.finish() }
            refused.interact()
            guard case .failure(let error as TLSError) = InMemoryPair.outcome(refused.clientHandshake) else {
                Issue.record("the handshake did not fail")
                return
            }
            #expect(error.kind == .verificationFailed)
            #expect(error.message.contains("no matching DANE TLSA records"))
        }

        @Test("a DANE policy with no usable record cannot start")
        func noUsableRecords() throws {
            let client = try TLSClientContext(configuration: TLSConfiguration())
            let record = try TLSARecord(presentation: "0 0 1 " + String(repeating: "ab", count: 32))
            let error = #expect(throws: TLSError.self) {
                try TLSHandler(clientContext: client, serverName: "mx.example.test",
                               verification: .dane(records: [record], hostNames: []))
            }
            #expect(error?.kind == .verificationFailed)
        }

        @Test("TLSA presentation form parses, and bad forms say what is wrong", arguments: [
            ("3 1 1", "has 3 fields"),
            ("3 x 1 abcd", "selector \"x\""),
            ("300 1 1 abcd", "usage \"300\""),
            ("3 1 1 abc", "odd number"),
            ("3 1 1 zz", "not hexadecimal"),
        ])
        func presentation(text: String, complaint: String) throws {
            let record = try TLSARecord(presentation: "3 1 1 0A0b 0c\t0d")
            #expect(record.usage == .daneEE && record.selector == .subjectPublicKeyInfo && record.matchingType == .sha256)
            #expect(record.data == [0x0A, 0x0B, 0x0C, 0x0D])
            #expect(record.description == "3 1 1 0a0b0c0d")
            let error = #expect(throws: TLSError.self) { try TLSARecord(presentation: text) }
            #expect(error?.kind == .malformedTLSARecord)
            #expect(error?.message.contains(complaint) == true, "\(String(describing: error))")
        }
    }
}
