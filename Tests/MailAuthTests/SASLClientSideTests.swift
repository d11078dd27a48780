import Foundation
import MailAuth
import TestSupport
import Testing

@Suite("Client side: mechanism choice")
struct SASLClientSideTests {
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
