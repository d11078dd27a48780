import Foundation
import MailMaps
import MailRouting
import SMTPProtocol
import Testing
import TestSupport

@Suite("Masquerading and authinfo")
struct SenderTests {
    @Test("MASQUERADE_AS: headers always, the envelope with masquerade_envelope, never EXPOSED_USER")
    func masquerading() async throws {
        var configuration = RoutingConfiguration(hostname: "mx.example.test", masqueradeAs: "real-time.com", masqueradeDomains: ["old.example"], exposedUsers: ["root"])
        let plain = try RoutingFixture(configuration: configuration, localHostNames: ["tebbe.org"])
        func masquerade(_ router: Router, _ text: String, envelope: Bool) async throws -> String {
            try await router.masquerade(try RoutingAddress(parsing: text), envelope: envelope).description
        }
        #expect(try await masquerade(plain.router, "amy@tebbe.org", envelope: false) == "amy@real-time.com")
        #expect(try await masquerade(plain.router, "amy@mx.example.test", envelope: false) == "amy@real-time.com")
        #expect(try await masquerade(plain.router, "amy", envelope: false) == "amy@real-time.com")
        #expect(try await masquerade(plain.router, "amy@old.example", envelope: false) == "amy@real-time.com")
        #expect(try await masquerade(plain.router, "amy@elsewhere.example", envelope: false) == "amy@elsewhere.example")
        #expect(try await masquerade(plain.router, "root@tebbe.org", envelope: false) == "root@tebbe.org")
        #expect(try await masquerade(plain.router, "amy@tebbe.org", envelope: true) == "amy@tebbe.org")
        configuration.masqueradeEnvelope = true
        let envelope = try RoutingFixture(configuration: configuration, localHostNames: ["tebbe.org"])
        #expect(try await masquerade(envelope.router, "amy@tebbe.org", envelope: true) == "amy@real-time.com")
    }

    @Test("authinfo: the seed's entry, parent domains, the default entry; passwords never in the trace")
    func authinfo() async throws {
        let fixture = try RoutingFixture(authinfo: """
            AuthInfo:mailserver.somedom.com "U:root" "I:user_name" "P:password"
            AuthInfo:other.example "I:carol" "P=c2VjcmV0" "R:example" "M:PLAIN LOGIN"
            AuthInfo: "I:default" "P:default-secret"

            """)
        let (seed, trace) = try await fixture.router.authInfo(for: "mailserver.somedom.com")
        #expect(seed == AuthInfo(authorizationID: "root", authenticationID: "user_name", password: "password"))
        #expect(!trace.description.contains("password\""))
        #expect(trace.allSatisfy { !$0.description.contains("P:password") })
        #expect(seed?.description == "U:root I:user_name P:<redacted>")

        let (parent, _) = try await fixture.router.authInfo(for: "[mx1.other.example]")
        #expect(parent == AuthInfo(authenticationID: "carol", password: "secret", realm: "example", mechanisms: ["PLAIN", "LOGIN"]))

        let (fallback, fallbackTrace) = try await fixture.router.authInfo(for: "unknown.example")
        #expect(fallback?.authenticationID == "default")
        let keys = fallbackTrace.compactMap { step -> String? in
            if case .lookup(let probe) = step { return probe.key }
            return nil
        }
        #expect(keys == ["AuthInfo:unknown.example", "AuthInfo:example", "AuthInfo:"])
    }

    @Test("a malformed authinfo entry is an error naming the key")
    func malformedAuthinfo() async throws {
        let fixture = try RoutingFixture(authinfo: "AuthInfo:broken.example \"U:someone\"\n")
        let error = await #expect(throws: MailMapError.self) { try await fixture.router.authInfo(for: "broken.example") }
        #expect(error?.message.contains("AuthInfo:broken.example") == true)
        #expect(error?.message.contains("someone") == true || error?.message.contains("P:") == true)
    }
}

@Suite("authinfo values")
struct AuthInfoParsingTests {
    @Test("the seed howto's client-info entry, read from the fixture")
    func seedClientInfo() throws {
        let text = try String(contentsOfFile: "\(ExternalTool.repositoryRoot)/../shared/fixtures/seed-howto/client-info", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first)
        let info = try AuthInfo(parsing: String(line.drop { $0 != " " }))
        #expect(info == AuthInfo(authorizationID: "root", authenticationID: "user_name", password: "password"))
        #expect(!info.description.contains("password\""))
    }

    @Test("P= in base64, R: and M:")
    func fullEntry() throws {
        let info = try AuthInfo(parsing: #""I:relay" "P=c2VjcmV0IHdpdGggc3BhY2Vz" "R:example.org" "M:DIGEST-MD5 CRAM-MD5""#)
        #expect(info == AuthInfo(authenticationID: "relay", password: "secret with spaces", realm: "example.org", mechanisms: ["DIGEST-MD5", "CRAM-MD5"]))
    }

    @Test("malformed values are errors that never repeat the password", arguments: [
        #""I:relay" P:hunter2"#, #""I:relay" "P:hunter2"#, #""I:relay""#, #""P:hunter2""#,
        #""I:relay" "P:hunter2" "X:1""#, #""I:relay" "P=hunter2!""#, #""I:relay" "I:again" "P:hunter2""#,
        #""I:relay" "P:hunter2" "M:NOT A/MECH""#,
    ])
    func malformed(value: String) {
        let error = #expect(throws: AuthInfo.ParseError.self) { try AuthInfo(parsing: value) }
        #expect(error.map { !$0.description.contains("hunter2") } ?? true, "\(String(describing: error))")
    }
}
