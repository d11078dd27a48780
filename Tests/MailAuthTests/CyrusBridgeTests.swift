import Foundation
import MailAuth
import TestSupport
import Testing

/// The Cyrus SASL bridge against a sasldb2 made by `saslpasswd2 -f` in the test. Serialized for
/// the same reason as the interop suite: each test starts Cyrus's programs.
@Suite("Cyrus SASL bridge", .serialized)
struct CyrusBridgeTests {
    @Test("right password through sasldb2: PLAIN run by libsasl2")
    func rightPassword() async throws {
        let fixture = try await CyrusFixture.make()
        var mechanism = try fixture.server().makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let success = try #require(try await mechanism.start(initialResponse: Array("\0alice\0wonder land".utf8)).success)
        #expect(success.additionalData == nil)
        #expect(success.outcome.authorizationIdentity.hasPrefix("alice"))
        #expect(success.outcome.mechanism == .plain)
    }

    @Test("wrong password and unknown user through sasldb2: authentication failed")
    func wrongPassword() async throws {
        let fixture = try await CyrusFixture.make()
        let server = try fixture.server()
        for message in ["\0alice\0wonderland", "\0mallory\0wonder land"] {
            var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
            let error = await #expect(throws: SASLError.self) {
                try await mechanism.start(initialResponse: Array(message.utf8))
            }
            #expect(error?.kind == .authenticationFailed)
            #expect(error.map { !"\($0)".contains("wonder") } ?? true, "the error must not carry the password")
        }
    }

    @Test("a missing sasldb2 is a clear configuration error naming the file")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("no-such-sasldb2")
        let error = #expect(throws: SASLError.self) {
            try CyrusSASLServer(configuration: .init(serverName: CyrusFixture.serverName, sasldbPath: path))
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(path) == true, "\(String(describing: error))")
        #expect(error?.message.contains("No such file") == true, "\(String(describing: error))")
        // Without a path at all, the bridge refuses rather than falling back to /etc/sasldb2.
        #expect(throws: SASLError.self) {
            try CyrusSASLServer(configuration: .init(serverName: CyrusFixture.serverName))
        }
    }

    @Test("a sasldb2 removed after start-up fails as a temporary failure or a refusal, never a success")
    func removedFile() async throws {
        let fixture = try await CyrusFixture.make()
        let server = try fixture.server()
        try FileManager.default.removeItem(atPath: fixture.sasldbPath)
        var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let error = await #expect(throws: SASLError.self) {
            try await mechanism.start(initialResponse: Array("\0alice\0wonder land".utf8))
        }
        #expect(error?.kind == .temporaryFailure || error?.kind == .authenticationFailed)
    }

    @Test("mech_list limits what libsasl2 offers")
    func mechanismList() async throws {
        let fixture = try await CyrusFixture.make()
        let server = try fixture.server(mechanisms: [.cramMD5, .digestMD5])
        #expect(Set(server.mechanisms) == [.cramMD5, .digestMD5])
        #expect(throws: SASLError.self) {
            try server.makeMechanism(.plain, context: SASLServerContext())
        }
    }

    @Test("the bridge as a credential verifier: sasl_checkpass behind native PLAIN and LOGIN")
    func checkpassVerifier() async throws {
        let fixture = try await CyrusFixture.make()
        let native = SASLNativeServer(verifier: try fixture.server(), serverName: CyrusFixture.serverName)
        var login = try native.makeMechanism(.login, context: SASLServerContext(isSecure: true))
        var client: any SASLClientMechanism = LoginClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "bob", password: "b0b-secret"))
        let outcome = try await SASLExchange.run(client: &client, server: &login)
        #expect(outcome.authenticationIdentity == "bob")

        var plain = try native.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let error = await #expect(throws: SASLError.self) {
            try await plain.start(initialResponse: Array("\0bob\0b0b-guess".utf8))
        }
        #expect(error?.kind == .authenticationFailed)
        // CRAM-MD5 needs a stored password, which libsasl2 does not hand out.
        var cram = try native.makeMechanism(.cramMD5, context: SASLServerContext())
        var cramClient: any SASLClientMechanism = CRAMMD5ClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "bob", password: "b0b-secret"))
        await #expect(throws: SASLError.self) {
            try await SASLExchange.run(client: &cramClient, server: &cram)
        }
    }

    @Test("an application file (/etc/sasl2/Sendmail.conf style) is read into the options")
    func applicationFile() async throws {
        let fixture = try await CyrusFixture.make()
        let file = try fixture.directory.write(
            "Sendmail.conf", "# the seed's set-up\npwcheck_method: auxprop\nmech_list: PLAIN LOGIN\nsasldb_path: \(fixture.sasldbPath)\n")
        var configuration = CyrusSASLServer.Configuration(serverName: CyrusFixture.serverName, sasldbPath: "/nonexistent")
        try configuration.load(applicationFile: file)
        #expect(configuration.options["mech_list"] == "PLAIN LOGIN")
        configuration.sasldbPath = fixture.sasldbPath
        let server = try CyrusSASLServer(configuration: configuration)
        #expect(Set(server.mechanisms) == [.plain, .login])

        let broken = try fixture.directory.write("Broken.conf", "pwcheck_method auxprop\n")
        let error = #expect(throws: SASLError.self) { try configuration.load(applicationFile: broken) }
        #expect(error?.message.contains("Broken.conf:1") == true)
    }

    @Test("many exchanges at once all finish, each with its own right answer")
    func concurrentExchanges() async throws {
        let fixture = try await CyrusFixture.make()
        let server = try fixture.server()
        let results = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<24 {
                group.addTask {
                    var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
                    let right = !index.isMultiple(of: 3)
                    let password = right ? "wonder land" : "wrong"
                    do {
                        let step = try await mechanism.start(initialResponse: Array("\0alice\0\(password)".utf8))
                        guard right else { return "exchange \(index): a wrong password was accepted" }
                        guard let success = step.success, success.outcome.authenticationIdentity.hasPrefix("alice") else {
                            return "exchange \(index): not a success for alice: \(step)"
                        }
                        return nil
                    } catch let error as SASLError {
                        // Only the one failure a wrong password may give: not a temporary failure,
                        // not a malformed exchange, not a right password refused.
                        guard !right, error.kind == .authenticationFailed else { return "exchange \(index): \(error)" }
                        return nil
                    }
                }
            }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(results.count == 24)
        #expect(results.compactMap { $0 }.isEmpty, "\(results.compactMap { $0 })")
    }

    @Test("libsasl2 blocks the bridge's own threads, never the callers': three exchanges hang on three other threads")
    func blockingCallsRunOffTheCallersThreads() async throws {
        let hung = try await offThread { try HungSaslauthd() }
        defer { hung.stop() }
        let server = try CyrusSASLServer(configuration: .init(
            serverName: CyrusFixture.serverName, passwordCheck: [.saslauthd], saslauthdPath: hung.socketPath,
            mechanisms: [.plain]))
        let callers = ThreadRecorder()
        // More exchanges than Swift's cooperative pool has threads here (2): on that pool they could
        // not all be blocked at once.
        let count = 3
        let exchanges = Task {
            try await withThrowingTaskGroup(of: SASLError?.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        callers.recordCurrent()
                        var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
                        do {
                            _ = try await mechanism.start(initialResponse: Array("\0carol\0guess".utf8))
                            return nil
                        } catch let error as SASLError {
                            callers.recordCurrent()
                            return error
                        }
                    }
                }
                return try await group.reduce(into: [SASLError?]()) { $0.append($1) }
            }
        }
        // Wait on a thread of its own until libsasl2 is blocked in read(2) three times, then let
        // the exchanges go from that thread too: were the callers' threads the blocked ones, no
        // thread of the cooperative pool would be left to run this test on.
        // (A generous deadline: in a full run other suites may keep the cooperative pool busy
        // before the three exchanges even start.)
        let (blocked, connections) = try await offThread { () -> (Set<Int>, Int) in
            let deadline = ContinuousClock.now + .seconds(90)
            var blocked = Set<Int>()
            while ContinuousClock.now < deadline {
                blocked = ProcessThreads.blockedReadingUnixSockets()
                if hung.connections >= count, blocked.count >= count { break }
                usleep(20_000)
            }
            let connections = hung.connections
            hung.stop()
            return (blocked, connections)
        }
        let callerThreads = callers.recorded
        let outcomes = try await exchanges.value

        #expect(blocked.count >= count, "\(blocked.count) threads were blocked in libsasl2's read, \(connections) connections held")
        #expect(blocked.isDisjoint(with: callerThreads), "libsasl2 blocked a caller's thread: \(blocked) \(callerThreads)")
        // A saslauthd that hangs up is a temporary failure, never a success or "wrong password".
        #expect(outcomes.count == count)
        for outcome in outcomes {
            #expect(outcome?.kind == .temporaryFailure, "\(String(describing: outcome))")
        }
    }
}

extension CyrusBridgeTests {
    @Test("pwcheck_method saslauthd: PLAIN run by libsasl2 and native LOGIN both check through a real saslauthd")
    func saslauthd() async throws {
        let daemon = try await offThread { try SaslauthdFixture() }
        let server = try CyrusSASLServer(
            configuration: .init(
                serverName: CyrusFixture.serverName, passwordCheck: [.saslauthd], saslauthdPath: daemon.socketPath,
                mechanisms: [.plain, .login]))
        var plain = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let success = try #require(try await plain.start(
            initialResponse: Array("\0\(SaslauthdFixture.user)\0\(SaslauthdFixture.password)".utf8)).success)
        #expect(success.outcome.authenticationIdentity.hasPrefix(SaslauthdFixture.user))

        #expect(try await server.verifyPassword(SASLSecret(SaslauthdFixture.password), for: SaslauthdFixture.user))
        #expect(!(try await server.verifyPassword("guess", for: SaslauthdFixture.user)))
        var wrong = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let error = await #expect(throws: SASLError.self) {
            try await wrong.start(initialResponse: Array("\0\(SaslauthdFixture.user)\0guess".utf8))
        }
        #expect(error?.kind == .authenticationFailed)

        // saslauthd gone: a temporary failure, never a success or "wrong password".
        try await offThread { daemon.stop() }
        var down = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let unavailable = await #expect(throws: SASLError.self) {
            try await down.start(initialResponse: Array("\0\(SaslauthdFixture.user)\0\(SaslauthdFixture.password)".utf8))
        }
        #expect(unavailable?.kind == .temporaryFailure, "\(String(describing: unavailable))")
    }
}
