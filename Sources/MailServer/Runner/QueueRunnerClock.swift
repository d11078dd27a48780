/// The time the queue runner goes by: when a message arrived, when a deferred recipient is tried
/// again (the retry schedule of ``QueueSettings``), and when queuewarn and queuereturn have
/// passed. A server uses ``SystemQueueClock``; a test can give one it moves by hand, so that five
/// days of retries take no time.
public protocol QueueRunnerClock: Sendable {
    /// Now.
    func now() -> QueueTimestamp

    /// Waits until `deadline` or a little before it — the runner looks again at what is due — or
    /// until the task is cancelled (then it throws `CancellationError`).
    func sleep(until deadline: QueueTimestamp) async throws
}
