import Foundation
import MailAuth
import TestSupport
import Testing

@Suite("Client side: AuthInfo entries and mechanism choice")
struct SASLClientSideTests {
    @Test("the seed howto's client-info entry")
    func seedClientInfo() throws {
        let text = try String(
            contentsOfFile: "\(ExternalTool.repositoryRoot)/../shared/fixtures/seed-howto/client-info", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first)
        // The map key is `AuthInfo:mailserver.somedom.com`; the value is the rest.
        let value = String(line.drop { $0 != " " })
        let info = try SASLAuthInfo(parsing: value)
        #expect(info.credentials.authenticationIdentity == "user_name")
        #expect(info.credentials.authorizationIdentity == "root")
        #expect(info.credentials.password.bytes == Array("password".utf8))
        #expect(info.mechanisms == nil)
        #expect(!"\(info)".contains("password\""))
        #expect(!"\(info)".contains("(password password"))
    }

    @Test("P= in base64, R: and M:")
    func fullEntry() throws {
        let info = try SASLAuthInfo(parsing: #""I:relay" "P=c2VjcmV0IHdpdGggc3BhY2Vz" "R:example.org" "M:DIGEST-MD5 CRAM-MD5""#)
        #expect(info.credentials.password.bytes == Array("secret with spaces".utf8))
        #expect(info.credentials.realm == "example.org")
        #expect(info.mechanisms == [.digestMD5, .cramMD5])
        #expect(info.credentials.authorizationIdentity == nil)
    }

    @Test("malformed AuthInfo values are errors that never repeat the password", arguments: [
        #""I:relay" P:hunter2"#, #""I:relay" "P:hunter2"#, #""I:relay""#, #""P:hunter2""#,
        #""I:relay" "P:hunter2" "X:1""#, #""I:relay" "P=hunter2!""#, #""I:relay" "I:again" "P:hunter2""#,
        #""I:relay" "P:hunter2" "M:NOT A/MECH""#,
    ])
    func malformed(value: String) {
        let error = #expect(throws: SASLError.self) { try SASLAuthInfo(parsing: value) }
        #expect(error?.kind == .configuration)
        #expect(error.map { !"\($0)".contains("hunter2") } ?? true, "\(String(describing: error))")
    }

    @Test("choosing a mechanism from the server's EHLO AUTH line")
    func choose() {
        // The talk's server: `250-AUTH DIGEST-MD5 CRAM-MD5` before TLS.
        #expect(SASLClientNegotiation.choose(offered: [.digestMD5, .cramMD5], isSecure: false) == .digestMD5)
        #expect(SASLClientNegotiation.choose(offered: [.plain, .login], isSecure: false) == nil)
        #expect(SASLClientNegotiation.choose(offered: [.plain, .login], isSecure: true) == .plain)
        #expect(SASLClientNegotiation.choose(offered: [.login], isSecure: false, plaintextWithoutTLS: true) == .login)
        #expect(SASLClientNegotiation.choose(offered: [.digestMD5, .cramMD5], allowed: [.cramMD5], isSecure: true) == .cramMD5)
        let offered: [SASLMechanismName] = [.scramSHA256Plus, .scramSHA256, .plain]
        #expect(SASLClientNegotiation.choose(offered: offered, isSecure: true) == .scramSHA256)
        #expect(
            SASLClientNegotiation.choose(offered: offered, isSecure: true, channelBinding: .tlsExporter([1]))
                == .scramSHA256Plus)
    }

    @Test("the chosen mechanism runs against our server; SCRAM turns -PLUS when the server offers it")
    func makeAndRun() async throws {
        let backend = SASLNativeServer(verifier: try passwordFile("relay: {PLAIN}pw-pw"), serverName: "mx.example.test")
        let binding = SASLChannelBinding.tlsExporter([UInt8](repeating: 3, count: 32))
        let context = SASLServerContext(isSecure: true, channelBinding: binding)
        let credentials = SASLClientCredentials(authenticationIdentity: "relay", password: "pw-pw")
        let offered = SASLPolicy().offeredMechanisms(available: backend.mechanisms, context: context)
        for name in [SASLMechanismName.scramSHA256, .scramSHA1, .digestMD5, .cramMD5, .plain, .login] {
            var client = try SASLClientNegotiation.makeMechanism(
                name, credentials: credentials, host: "mx.example.test", offered: offered, channelBinding: binding)
            var server = try backend.makeMechanism(client.name, context: context)
            let outcome = try await SASLExchange.run(client: &client, server: &server)
            #expect(outcome.authenticationIdentity == "relay")
            if SCRAMHashFunction(mechanism: name) != nil { #expect(client.name.rawValue.hasSuffix("-PLUS")) }
        }
        #expect(throws: SASLError.self) {
            try SASLClientNegotiation.makeMechanism(.gssapi, credentials: credentials, host: "mx.example.test")
        }
    }
}
