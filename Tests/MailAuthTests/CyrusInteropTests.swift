import MailAuth
import TestSupport
import Testing

/// MailAuth's native mechanisms against Cyrus SASL's (libsasl2 in this process, with its own
/// plugins from libsasl2-modules), both ways. Serialized: each test starts Cyrus's programs
/// (saslpasswd2, sasl-sample-server), and a burst of them all at once would starve the servers
/// other suites run in this process on a two-core machine.
@Suite("Interop with Cyrus SASL", .serialized)
struct CyrusInteropTests {
    static let mechanisms: [SASLMechanismName] = [.plain, .login, .cramMD5, .digestMD5, .scramSHA256, .scramSHA1]

    static func nativeClient(_ mechanism: SASLMechanismName, user: String, password: String) -> any SASLClientMechanism {
        let credentials = SASLClientCredentials(authenticationIdentity: user, password: SASLSecret(password))
        switch mechanism {
        case .plain: return PlainClientMechanism(credentials: credentials)
        case .login: return LoginClientMechanism(credentials: credentials)
        case .cramMD5: return CRAMMD5ClientMechanism(credentials: credentials)
        case .digestMD5: return DigestMD5ClientMechanism(credentials: credentials, host: CyrusFixture.serverName)
        case .scramSHA1: return SCRAMClientMechanism(hashFunction: .sha1, credentials: credentials)
        default: return SCRAMClientMechanism(hashFunction: .sha256, credentials: credentials)
        }
    }

    @Test("our client, Cyrus's server (sasldb2 from saslpasswd2)", arguments: mechanisms)
    func nativeClientCyrusServer(mechanism: SASLMechanismName) async throws {
        let fixture = try await CyrusFixture.make()
        let backend = try fixture.server()
        #expect(backend.mechanisms.contains(mechanism))
        for inline in [true, false] {
            var server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
            var client = Self.nativeClient(mechanism, user: "alice", password: "wonder land")
            let outcome = try await SASLExchange.run(client: &client, server: &server, initialResponseInline: inline)
            #expect(outcome.authorizationIdentity.hasPrefix("alice"))
            #expect(outcome.mechanism == mechanism)
        }
        // The wrong password fails on Cyrus's side as wrong credentials.
        var server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
        var client = Self.nativeClient(mechanism, user: "alice", password: "wrong")
        let error = await #expect(throws: SASLError.self) {
            try await SASLExchange.run(client: &client, server: &server)
        }
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
    }

    @Test("Cyrus's client, our server (password file)", arguments: mechanisms)
    func cyrusClientNativeServer(mechanism: SASLMechanismName) async throws {
        let fixture = try await CyrusFixture.make()
        let backend = SASLNativeServer(verifier: try fixture.passwordFile(), serverName: CyrusFixture.serverName)
        var server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
        var client: any SASLClientMechanism = try CyrusSASLClientMechanism(
            mechanism: mechanism,
            credentials: SASLClientCredentials(authenticationIdentity: "bob", password: "b0b-secret"),
            serverName: CyrusFixture.serverName)
        let outcome = try await SASLExchange.run(client: &client, server: &server)
        #expect(outcome.authenticationIdentity == "bob")
        #expect(outcome.authorizationIdentity == "bob")

        server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
        client = try CyrusSASLClientMechanism(
            mechanism: mechanism,
            credentials: SASLClientCredentials(authenticationIdentity: "bob", password: "not bob's"),
            serverName: CyrusFixture.serverName)
        let error = await #expect(throws: SASLError.self) {
            try await SASLExchange.run(client: &client, server: &server)
        }
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
    }

    @Test("Cyrus's client against Cyrus's server through the bridge (the reference exchange)", arguments: mechanisms)
    func cyrusBothSides(mechanism: SASLMechanismName) async throws {
        let fixture = try await CyrusFixture.make()
        var server = try fixture.server().makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
        var client: any SASLClientMechanism = try CyrusSASLClientMechanism(
            mechanism: mechanism,
            credentials: SASLClientCredentials(authenticationIdentity: "alice", password: "wonder land"),
            serverName: CyrusFixture.serverName)
        let outcome = try await SASLExchange.run(client: &client, server: &server)
        #expect(outcome.authorizationIdentity.hasPrefix("alice"))
    }
}

extension CyrusInteropTests {
    @Test("Cyrus's DIGEST-MD5 client tries subsequent authentication; our server answers with a fresh challenge")
    func digestMD5Reauthentication() async throws {
        // A server name no other test uses: libsasl2 keeps its reauthentication cache per server,
        // process-wide.
        let serverName = "reauth.example.test"
        let backend = SASLNativeServer(
            verifier: try passwordFile("alice: {PLAIN}wonder land"), serverName: serverName)
        for attempt in 1...3 {
            var server = try backend.makeMechanism(.digestMD5, context: SASLServerContext())
            var client: any SASLClientMechanism = try CyrusSASLClientMechanism(
                mechanism: .digestMD5,
                credentials: SASLClientCredentials(authenticationIdentity: "alice", password: "wonder land"),
                serverName: serverName)
            var transcript = SASLExchange.Transcript()
            let outcome = try await SASLExchange.run(client: &client, server: &server, transcript: &transcript)
            #expect(outcome.authenticationIdentity == "alice", "attempt \(attempt)")
            // From the second attempt on, libsasl2 sends a response with AUTH right away, counting
            // on the nonce it cached; the server answers with a fresh challenge.
            let first = transcript.lines.first ?? ""
            #expect(first.contains("response=") == (attempt > 1), "attempt \(attempt): \(transcript.lines)")
            #expect(transcript.lines.dropFirst().first?.hasPrefix("S: 334 realm=") == true, "a fresh challenge: \(transcript.lines)")
        }
    }
}

extension CyrusInteropTests {
    @Test("our client against Cyrus's sasl-sample-server program", arguments: mechanisms)
    func sampleServer(mechanism: SASLMechanismName) async throws {
        let fixture = try await CyrusFixture.make()
        let good = Self.nativeClient(mechanism, user: "alice", password: "wonder land")
        let outcome = try await offThread { try CyrusSampleServer.run(mechanism: mechanism, client: good, fixture: fixture) }
        #expect(outcome.succeeded, "\(outcome.output)")
        #expect(outcome.userName?.hasPrefix("alice") == true, "\(outcome.output)")
        #expect(outcome.output.contains("Forcing use of mechanism \(mechanism)"), "\(outcome.output)")

        let bad = Self.nativeClient(mechanism, user: "alice", password: "wonderland")
        let refused = try await offThread { try CyrusSampleServer.run(mechanism: mechanism, client: bad, fixture: fixture) }
        #expect(!refused.succeeded, "\(refused.output)")
    }
}
