/// A ``WorkerPool``'s load at one instant, and its refusals since it was made: what an operator
/// watches to see a pool saturate before its callers get temporary failures.
package struct WorkerPoolLoad: Hashable, Sendable {
    /// The pool's threads.
    package var threads: Int
    /// Threads running a call or a task's job now.
    package var busyThreads: Int
    /// Calls waiting for a thread.
    package var queuedCalls: Int
    /// The most calls that may wait (``WorkerPool/Configuration/queueLimit``).
    package var queueLimit: Int
    /// Calls refused at once because the queue was full.
    package var refusedFull: Int
    /// Calls answered with a deadline error, waiting or running.
    package var answeredLate: Int
}
