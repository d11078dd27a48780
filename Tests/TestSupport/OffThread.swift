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
