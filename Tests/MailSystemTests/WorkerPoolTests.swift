import Foundation
import MailSystem
import Testing
import TestSupport

/// A pool of `threads` threads for one test, with a name of its own (its threads carry it).
/// The default deadline is a hang guard far above any wait here (a loaded machine can stall a
/// test for tens of seconds); tests of the deadline pass their own.
private func makePool(
    _ name: String, threads: Int = 2, queueLimit: Int = 16, deadline: Duration = .seconds(600)
) -> WorkerPool {
    WorkerPool(.init(name: name, threads: threads, queueLimit: queueLimit, deadline: deadline))
}

/// The threads of this process whose name is `name` (Linux: /proc/self/task/*/comm).
private func threadsNamed(_ name: String) -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { task in
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .newlines) == name
    }.count
}

/// The calling thread.
private func currentThread() -> pthread_t { pthread_self() }

/// A flag set from any thread.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

@Suite("WorkerPool: bounded threads, a bounded queue, a deadline per call")
struct WorkerPoolTests {
    @Test("work runs on the pool's threads; a task preferring the pool runs there and does not hop")
    func threads() async throws {
        let pool = makePool("wp-threads")
        defer { pool.shutdown() }
        #expect(!pool.isCurrentThreadInPool)
        #expect(try await pool.run { pool.isCurrentThreadInPool })
        let preferred = await withTaskExecutorPreference(pool) { () async -> (Bool, Bool) in
            let here = pool.isCurrentThreadInPool
            // Already on the pool: run() answers on this very thread.
            let thread = currentThread()
            let inline = (try? await pool.run { currentThread() == thread }) ?? false
            return (here, inline)
        }
        #expect(preferred == (true, true))
    }

    @Test("the body's typed error comes back; the pool's own becomes the caller's error")
    func typedErrors() async {
        struct Failure: Error, Equatable { let text: String }
        let pool = makePool("wp-errors")
        defer { pool.shutdown() }
        let error = await #expect(throws: Failure.self) {
            try await pool.run({ () throws(Failure) -> Int in throw Failure(text: "from the pool") },
                               whenUnavailable: { Failure(text: "unavailable: \($0.kind)") })
        }
        #expect(error == Failure(text: "from the pool"))
    }

    @Test("a full queue fails the next call at once, while the threads are still busy")
    func fullQueue() async throws {
        let pool = makePool("wp-full", threads: 1, queueLimit: 1)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let running = Task { try await pool.run { started.signal(); gate.wait(); return 1 } }
        try await offThread { started.wait() }
        // Two more calls: whichever comes first waits in the queue's one place, the other is refused.
        try await withThrowingTaskGroup(of: Result<Int, WorkerPoolError>.self) { group in
            for value in [2, 3] {
                group.addTask {
                    do throws(WorkerPoolError) { return .success(try await pool.run { value }) } catch { return .failure(error) }
                }
            }
            let first = try #require(try await group.next())
            guard case .failure(let error) = first else {
                Issue.record("a call ran although the only thread was busy and the queue full: \(first)")
                return
            }
            #expect(error.kind == .queueFull)
            #expect(error.pool == "wp-full")
            #expect(error.message == "worker pool wp-full is full: 1 calls wait for its 1 threads")
            gate.signal()
            let second = try #require(try await group.next())
            #expect([.success(2), .success(3)].contains(second))
        }
        #expect(try await running.value == 1)
        pool.shutdown()
    }

    @Test("a call running past its deadline fails its caller then; the thread is free once the body returns")
    func lateWhileRunning() async throws {
        let pool = makePool("wp-late", threads: 1, deadline: .milliseconds(200))
        let gate = DispatchSemaphore(value: 0)
        let finished = Flag()
        let error = await #expect(throws: WorkerPoolError.self) {
            try await pool.run { gate.wait(); finished.set() }
        }
        #expect(error?.kind == .deadlineExceeded)
        #expect(error?.message == "worker pool wp-late: no answer within 0.2 s")
        #expect(!finished.isSet, "the caller was answered only after the body returned")
        gate.signal()
        #expect(try await pool.run { 7 } == 7)
        #expect(finished.isSet)
        pool.shutdown()
    }

    @Test("a call waiting past its deadline fails and never runs")
    func lateWhileQueued() async throws {
        let pool = makePool("wp-queued", threads: 1, deadline: .seconds(60))
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let blocker = Task { try await pool.run { started.signal(); gate.wait() } }
        try await offThread { started.wait() }
        let ran = Flag()
        let error = await #expect(throws: WorkerPoolError.self) {
            try await pool.run(deadline: .milliseconds(100)) { ran.set() }
        }
        #expect(error?.kind == .deadlineExceeded)
        gate.signal()
        try await blocker.value
        #expect(try await pool.run { 1 } == 1)
        #expect(!ran.isSet, "a call whose caller gave up still ran")
        pool.shutdown()
    }

    @Test("shutdown joins every thread before it returns, fails what waits, and later work fails")
    func shutdownJoins() async throws {
        let pool = makePool("wp-join", threads: 3, queueLimit: 8)
        #expect(try await pool.run { 1 } == 1)
        // Threads name themselves as they start: three workers and the deadline watcher.
        for _ in 0..<500 where threadsNamed("wp-join") < 4 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(threadsNamed("wp-join") == 4)

        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        var running: [Task<Int, any Error>] = []
        for index in 0..<3 {
            running.append(Task { try await pool.run { started.signal(); gate.wait(); return index } })
        }
        try await offThread { for _ in 0..<3 { started.wait() } }
        let waiting = Task { try await pool.run { 99 } }
        // The fourth call waits in the queue; shutdown (off the cooperative threads: it blocks
        // until the three running calls return) fails it and lets the running ones finish.
        let stopped = Task { try await offThread { pool.shutdown() } }
        while !(await Self.isRefused(pool)) { try await Task.sleep(for: .milliseconds(5)) }
        let refused = await #expect(throws: WorkerPoolError.self) { try await waiting.value }
        #expect(refused?.kind == .shutDown)
        gate.signal()
        gate.signal()
        gate.signal()
        try await stopped.value
        #expect(threadsNamed("wp-join") == 0, "shutdown returned before its threads ended")
        var results: [Int] = []
        for task in running { results.append(try await task.value) }
        #expect(results.sorted() == [0, 1, 2])

        let after = await #expect(throws: WorkerPoolError.self) { try await pool.run { 1 } }
        #expect(after?.kind == .shutDown)
        #expect(after?.message == "worker pool wp-join is shut down")
    }

    private static func isRefused(_ pool: WorkerPool) async -> Bool {
        do {
            _ = try await pool.run(deadline: .milliseconds(1)) { 0 }
            return false
        } catch {
            return error.kind == .shutDown
        }
    }

    @Test("work is never run on the caller's thread after shutdown; a task preferring the pool still finishes")
    func afterShutdown() async throws {
        let pool = makePool("wp-after")
        #expect(try await pool.run { 1 } == 1)
        pool.shutdown()
        let ran = Flag()
        let error = await #expect(throws: WorkerPoolError.self) { try await pool.run { ran.set() } }
        #expect(error?.kind == .shutDown)
        #expect(!ran.isSet)
        let outcome = await withTaskExecutorPreference(pool) { () async -> Bool in
            (try? await pool.run { true }) ?? false
        }
        #expect(outcome == false, "the task ran, elsewhere, and its call failed")
    }

    @Test("many concurrent callers, more than threads, all complete in order of their own")
    func concurrency() async throws {
        let pool = makePool("wp-many", threads: 2, queueLimit: 1000)
        defer { pool.shutdown() }
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<500 { group.addTask { try await pool.run { index } } }
            return try await group.reduce(0, +)
        }
        #expect(total == (0..<500).reduce(0, +))
    }

    @Test("bounds below one are raised to one", arguments: [(0, 0), (-3, -1)])
    func minimumBounds(threads: Int, queueLimit: Int) async throws {
        let pool = makePool("wp-min", threads: threads, queueLimit: queueLimit)
        defer { pool.shutdown() }
        #expect(pool.configuration.threads == 1)
        #expect(pool.configuration.queueLimit == 1)
        #expect(try await pool.run { 5 } == 5)
    }
}
