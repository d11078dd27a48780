import Foundation
import MailAuth
import MailSystem
import Synchronization
import Testing
import TestSupport

/// libsasl2's calls run on a bounded pool: checks that hang on saslauthd (here: an IMAP server
/// behind saslauthd's rimap backend that, like PAM, answers a wrong password only after a delay)
/// take its threads and its queue, and then further libsasl2 work fails at once with a temporary
/// failure instead of waiting behind them — while MailAuth's native mechanisms and PBKDF2, on
/// pools of their own, go on. Before, the pool had 8 threads and an unbounded queue: the ninth
/// check waited for one of the eight slow ones.
/// A count shared by tasks.
private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

@Suite("MailAuth's bounded pools against a slow saslauthd", .serialized)
struct SaslauthdPoolTests {
    private static func bridge(_ daemon: SaslauthdFixture, pool: WorkerPool) throws -> CyrusSASLServer {
        try CyrusSASLServer(
            configuration: .init(
                serverName: CyrusFixture.serverName, passwordCheck: [.saslauthd], saslauthdPath: daemon.socketPath,
                mechanisms: [.plain, .login]),
            threadPool: pool)
    }

    @Test("10 slow wrong-password checks fill 8 threads and 2 queue places; the next check fails at once; native SCRAM goes on")
    func slowChecks() async throws {
        let daemon = try await offThread { try SaslauthdFixture(holdsFailures: true, workers: 12) }
        let pool = WorkerPool(.init(name: "sasl-slow", threads: 8, queueLimit: 2, deadline: .seconds(60)))
        let server = try Self.bridge(daemon, pool: pool)

        let finished = Counter()
        let slow = (0..<10).map { index in
            Task { () throws -> Bool in
                defer { finished.value.add(1, ordering: .relaxed) }
                return try await server.verifyPassword(SASLSecret("wrong-\(index)"), for: SaslauthdFixture.user)
            }
        }
        // Eight checks are inside saslauthd, waiting for the IMAP server's delayed answer.
        for _ in 0..<2000 where daemon.logins.received < 8 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(daemon.logins == (received: 8, answered: 0))

        // The eleventh libsasl2 call, even with the right password, is refused at once.
        let refused = await #expect(throws: SASLError.self) {
            try await server.verifyPassword(SASLSecret(SaslauthdFixture.password), for: SaslauthdFixture.user)
        }
        #expect(refused?.kind == .temporaryFailure)
        #expect(refused?.message == "worker pool sasl-slow is full: 2 calls wait for its 8 threads; try again later")
        var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let step = await #expect(throws: SASLError.self) {
            try await mechanism.start(initialResponse: Array("\0\(SaslauthdFixture.user)\0\(SaslauthdFixture.password)".utf8))
        }
        #expect(step?.kind == .temporaryFailure)

        // Native SCRAM-SHA-256 (PBKDF2 on both sides, on the key-derivation pool) is not held up.
        let file = try SASLPasswordFile(contents: "dora: {PLAIN}d0ra-pass", path: "test")
        let native = SASLNativeServer(verifier: file, serverName: CyrusFixture.serverName)
        var scramServer = try native.makeMechanism(.scramSHA256, context: SASLServerContext(isSecure: true))
        var scramClient: any SASLClientMechanism = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: SASLClientCredentials(authenticationIdentity: "dora", password: "d0ra-pass"))
        let outcome = try await SASLExchange.run(client: &scramClient, server: &scramServer)
        #expect(outcome.authenticationIdentity == "dora")
        #expect(try await file.verifyPassword("d0ra-pass", for: "dora"))

        #expect(finished.value.load(ordering: .relaxed) == 0, "a slow check ended before the refusals and the native exchange")
        #expect(daemon.logins.answered == 0)

        // The slow ones end as they would have: wrong passwords, the queued two after the first eight.
        daemon.releaseFailures()
        for task in slow { #expect(try await task.value == false) }
        #expect(daemon.logins == (received: 10, answered: 10))
        try await offThread { pool.shutdown() }
        try await offThread { daemon.stop() }
    }

    @Test("a libsasl2 check not answered within the pool's deadline fails as temporary, before saslauthd answers")
    func lateCheck() async throws {
        let daemon = try await offThread { try SaslauthdFixture(holdsFailures: true, workers: 12) }
        let pool = WorkerPool(.init(name: "sasl-late", threads: 2, queueLimit: 2, deadline: .seconds(1)))
        let server = try Self.bridge(daemon, pool: pool)
        let error = await #expect(throws: SASLError.self) {
            try await server.verifyPassword(SASLSecret("wrong"), for: SaslauthdFixture.user)
        }
        #expect(error?.kind == .temporaryFailure)
        #expect(error?.message == "worker pool sasl-late: no answer within 1 s; try again later")
        #expect(daemon.logins == (received: 1, answered: 0), "the caller was answered only after saslauthd")
        // Shutting down waits for the late check to come back from saslauthd; later checks fail.
        daemon.releaseFailures()
        try await offThread { pool.shutdown() }
        #expect(daemon.logins.answered == 1)
        let after = await #expect(throws: SASLError.self) {
            try await server.verifyPassword(SASLSecret(SaslauthdFixture.password), for: SaslauthdFixture.user)
        }
        #expect(after?.kind == .temporaryFailure)
        try await offThread { daemon.stop() }
    }
}
