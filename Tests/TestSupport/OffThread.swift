import Foundation

/// Runs blocking work (a socket read, waiting for a child process) on a thread of its own and
/// awaits its result, so that it never occupies one of Swift concurrency's few cooperative threads
/// while a server under test needs them.
public func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Waits on the calling thread for async work: for code that already runs on a thread of its own
/// (inside ``offThread(_:)``, a blocking driver of a child process) and must call an async API.
/// Never call it on one of Swift concurrency's cooperative threads.
public func waitOnThisThread<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = WaitedOutcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            outcome.result = .success(try await body())
        } catch {
            outcome.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

/// Where ``waitOnThisThread(_:)`` keeps the result; written before the semaphore is signalled,
/// read after it is waited for.
private final class WaitedOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
