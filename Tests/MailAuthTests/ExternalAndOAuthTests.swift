import MailAuth
import Testing

@Suite("EXTERNAL and XOAUTH2")
struct ExternalAndOAuthTests {
    struct Delegation: SASLCredentialVerifier {
        func mayAuthorize(_ authenticationIdentity: String, as authorizationIdentity: String) async throws -> Bool {
            authenticationIdentity == "relay.example.net" && authorizationIdentity == "postmaster"
        }
    }

    @Test("EXTERNAL takes the certificate's identity, or another one the verifier allows")
    func external() async throws {
        let backend = SASLNativeServer(verifier: Delegation(), serverName: "mx.example.test")
        let context = SASLServerContext(isSecure: true, externalIdentity: "relay.example.net")
        for (requested, expected) in [("", "relay.example.net"), ("postmaster", "postmaster")] {
            var server = try backend.makeMechanism(.external, context: context)
            var client: any SASLClientMechanism = ExternalClientMechanism(authorizationIdentity: requested)
            for inline in [true, false] where requested.isEmpty || inline {
                if !inline {
                    server = try backend.makeMechanism(.external, context: context)
                    client = ExternalClientMechanism(authorizationIdentity: requested)
                }
                let outcome = try await SASLExchange.run(client: &client, server: &server, initialResponseInline: inline)
                #expect(outcome.authenticationIdentity == "relay.example.net")
                #expect(outcome.authorizationIdentity == expected)
            }
        }
        var server = try backend.makeMechanism(.external, context: context)
        let error = await #expect(throws: SASLError.self) { try await server.start(initialResponse: Array("root".utf8)) }
        #expect(error?.kind == .authorizationFailed)
        #expect(throws: SASLError.self) { try backend.makeMechanism(.external, context: SASLServerContext(isSecure: true)) }
    }

    @Test("XOAUTH2: the initial response, and a refused token's JSON error kept for the log")
    func xoauth2() throws {
        var client = XOAuth2ClientMechanism(user: "someuser@example.com", token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
        #expect(
            try client.start()
                == Array("user=someuser@example.com\u{1}auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\u{1}\u{1}".utf8))
        let json = #"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#
        #expect(try client.step(Array(json.utf8)) == [])
        #expect(client.serverError == json)
        #expect(throws: SASLError.self) { try client.finish(additionalData: nil) }
        #expect(!"\(client)".contains("ya29"))
    }

    @Test("LOGIN: the prompts Outlook and Cyrus exchange, with and without an initial user name")
    func loginPrompts() async throws {
        let file = try passwordFile("alice: {PLAIN}wonder land")
        var server: any SASLServerMechanism = LoginServerMechanism(verifier: file)
        let first = try #require(try await server.start(initialResponse: nil).challenge)
        #expect(first == Array("Username:".utf8))
        let second = try #require(try await server.step(Array("alice".utf8)).challenge)
        #expect(second == Array("Password:".utf8))
        let success = try #require(try await server.step(Array("wonder land".utf8)).success)
        #expect(success.additionalData == nil)
        #expect(success.outcome.authenticationIdentity == "alice")
        server = LoginServerMechanism(verifier: file)
        let prompt = try #require(try await server.start(initialResponse: Array("alice".utf8)).challenge)
        #expect(prompt == Array("Password:".utf8))
        let again = try #require(try await server.step(Array("wonder land".utf8)).success)
        #expect(again.outcome.authenticationIdentity == "alice")
    }
}
