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
            Case(usage: 2, selector: 0, matchingType: 0, fromIntermediate: true),
            Case(usage: 2, selector: 1, matchingType: 0, fromIntermediate: true),
        ])
        func matching(_ test: Case) async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            let record = try await TestPKI.tlsa(
                usage: test.usage, selector: test.selector, matchingType: test.matchingType,
                certificate: test.fromIntermediate ? pki.intermediateCertificate : pki.serverLeaf)
            let unrelated = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.untrustedServerCertificate)
            let matched = try DANEMatcher.match(chain: chain, records: [unrelated, record], hostNames: ["mx.example.test"])
            #expect(matched == .authenticated(record))
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
            #expect(try DANEMatcher.match(chain: chain, records: [endEntity], hostNames: ["smtp.elsewhere.test"]) == .authenticated(endEntity))
        }

        @Test("no usable record is its own outcome, not a mismatch (RFC 7672 §2.2, §3.1.3)")
        func unusable() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            let pkix = try await TestPKI.tlsa(usage: 1, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            #expect(!pkix.isUsableForSMTP)
            // A SHA-256 digest one octet short: OpenSSL refuses it when it is added.
            var short = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            short.data.removeLast()
            let unknownSelector = TLSARecord(usage: .daneEE, selector: .init(7), matchingType: .sha256, data: short.data)
            for records in [[pkix], [short], [unknownSelector], [pkix, short, unknownSelector]] {
                #expect(try DANEMatcher.match(chain: chain, records: records, hostNames: ["mx.example.test"]) == .noUsableRecords)
            }
            // A usable record beside them is used, and a mismatching usable one is an error.
            let good = try await TestPKI.tlsa(usage: 3, selector: 1, matchingType: 1, certificate: pki.serverLeaf)
            #expect(try DANEMatcher.match(chain: chain, records: [pkix, good], hostNames: ["mx.example.test"]) == .authenticated(good))
            var wrong = good
            wrong.data[0] ^= 0x01
            let error = #expect(throws: TLSError.self) {
                try DANEMatcher.match(chain: chain, records: [pkix, wrong], hostNames: ["mx.example.test"])
            }
            #expect(error?.kind == .verificationFailed)
        }

        @Test("a 2 0 0 record carries the trust anchor itself: the server may leave it out of its chain (RFC 7671 §5.2.2)")
        func fullTrustAnchor() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let leafOnly = try TLSCertificate.load(pemFile: pki.serverLeaf)
            #expect(leafOnly.count == 1)
            let full = try await TestPKI.tlsa(usage: 2, selector: 0, matchingType: 0, certificate: pki.intermediateCertificate)
            #expect(try DANEMatcher.match(chain: leafOnly, records: [full], hostNames: ["mx.example.test"]) == .authenticated(full))
            // A digest names the anchor but does not carry it: without it in the chain, nothing verifies.
            let digest = try await TestPKI.tlsa(usage: 2, selector: 0, matchingType: 1, certificate: pki.intermediateCertificate)
            let error = #expect(throws: TLSError.self) {
                try DANEMatcher.match(chain: leafOnly, records: [digest], hostNames: ["mx.example.test"])
            }
            #expect(error?.kind == .verificationFailed)
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

        @Test("a handshake verified by DANE-TA(2): chain from the anchor to the leaf, and the name checked (RFC 7672 §3.1.2)")
        func handshakeTrustAnchor() async throws {
            let pki = try await TestPKI.sharedOffThread()
            // The client trusts no CA at all: only the record makes the intermediate an anchor.
            let client = try TLSClientContext(configuration: TLSConfiguration())
            let chainServer = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.serverChain, privateKeyFile: pki.serverKey))
            let leafOnlyServer = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.serverLeaf, privateKeyFile: pki.serverKey))
            let digest = try TestPKI.tlsaBlocking(usage: 2, selector: 1, matchingType: 1, certificate: pki.intermediateCertificate)
            let full = try TestPKI.tlsaBlocking(usage: 2, selector: 0, matchingType: 0, certificate: pki.intermediateCertificate)

            func handshake(_ server: TLSServerContext, _ records: [TLSARecord], names: [String]) throws -> Result<TLSSessionFacts, any Error> {
                let pair = try InMemoryPair(
                    client: { try TLSHandler(clientContext: client, serverName: "mx.example.test",
                                             verification: .dane(records: records, hostNames: names), handshakePromise: $0) },
                    server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
                defer { pair.finish() }
                pair.interact()
                return try #require(InMemoryPair.outcome(pair.clientHandshake))
            }

            let facts = try handshake(chainServer, [digest], names: ["mx.example.test"]).get()
            #expect(facts.dane == .authenticated(digest))
            #expect(facts.verification == .ok)
            #expect(facts.description.contains("dane=DANE-TA"))
            // 2 0 0: the server sends only its leaf; the record supplies the anchor.
            #expect(try handshake(leafOnlyServer, [full], names: ["mx.example.test"]).get().dane == .authenticated(full))
            // A digest cannot stand in for an anchor the server did not send.
            #expect(throws: TLSError.self) { try handshake(leafOnlyServer, [digest], names: ["mx.example.test"]).get() }
            // DANE-TA checks the name: a certificate for another host is refused.
            let refused = #expect(throws: TLSError.self) { try handshake(chainServer, [digest], names: ["smtp.elsewhere.test"]).get() }
            #expect(refused?.kind == .verificationFailed)
            #expect(refused?.message.contains("hostname mismatch") == true, "\(String(describing: refused))")
        }

        @Test("no usable record: the handshake runs, encrypted but not authenticated (RFC 7672 §2.2)")
        func handshakeWithoutUsableRecords() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.untrustedServerCertificate, privateKeyFile: pki.untrustedServerKey))
            let client = try TLSClientContext(configuration: TLSConfiguration())
            let pkix = try TLSARecord(presentation: "0 0 1 " + String(repeating: "ab", count: 32))
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: client, serverName: "mx.example.test",
                                         verification: .dane(records: [pkix], hostNames: []), handshakePromise: $0) },
                server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            let facts = try #require(try InMemoryPair.outcome(pair.clientHandshake)?.get())
            #expect(facts.dane == .noUsableRecords)
            #expect(facts.matchedTLSARecord == nil)
            #expect(facts.verification != .ok, "nothing authenticated the server: \(facts.verification)")
            #expect(facts.description.contains("dane=no-usable-records"))
            try pair.client.writeOutbound(ByteBuffer(string: "EHLO client.example.test\r\n"))
            pair.interact()
            #expect(try InMemoryPair.received(pair.server) == "EHLO client.example.test\r\n")
        }

        @Test("TLSA records without the AD bit are not usable: DANE does not apply (RFC 7672 §2.2)")
        func authenticatedLookupsOnly() throws {
            let record = try TLSARecord(presentation: "3 1 1 " + String(repeating: "ab", count: 32))
            #expect(TLSPeerVerification.forTLSARecords([record], isAuthenticated: false, hostNames: ["mx.example.test"]) == nil)
            #expect(TLSPeerVerification.forTLSARecords([], isAuthenticated: true, hostNames: ["mx.example.test"]) == nil)
            #expect(TLSPeerVerification.forTLSARecords([record], isAuthenticated: true, hostNames: ["mx.example.test"])
                == .dane(records: [record], hostNames: ["mx.example.test"]))
        }

        @Test("TLSA wire form (RFC 6698 §2.1) round-trips, and a truncated one is refused")
        func wireForm() throws {
            let record = try TLSARecord(rdata: [3, 1, 1, 0xa1, 0xb2, 0xc3, 0xd4])
            #expect(record == TLSARecord(usage: .daneEE, selector: .subjectPublicKeyInfo, matchingType: .sha256, data: [0xa1, 0xb2, 0xc3, 0xd4]))
            #expect(record.rdata == [3, 1, 1, 0xa1, 0xb2, 0xc3, 0xd4])
            #expect(record.description == "3 1 1 a1b2c3d4")
            #expect(try TLSARecord(rdata: [2, 0, 0]).data.isEmpty)
            #expect(try !TLSARecord(rdata: [3, 1, 1]).isUsableForSMTP)
            let error = #expect(throws: TLSError.self) { try TLSARecord(rdata: [3, 1]) }
            #expect(error?.kind == .malformedTLSARecord)
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
