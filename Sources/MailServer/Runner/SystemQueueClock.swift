/// The system's wall clock, for the queue runner. A wait is at most a second long, so that a
/// change of the wall clock (NTP stepping it) delays a retry by no more than that.
public struct SystemQueueClock: QueueRunnerClock {
    /// The system clock.
    public init() {}

    /// ``QueueTimestamp/now``.
    public func now() -> QueueTimestamp { .now }

    /// Sleeps until `deadline`, at most one second.
    public func sleep(until deadline: QueueTimestamp) async throws {
        let wait = QueueTimestamp.now.duration(to: deadline)
        guard wait > .zero else { return }
        try await Task.sleep(for: min(wait, .seconds(1)))
    }
}
