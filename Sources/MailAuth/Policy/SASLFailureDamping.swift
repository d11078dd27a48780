/// Brute-force damping: counts failed authentications per client and says how long the server
/// should wait before answering the next failure, growing with each one.
///
/// MailAuth does not sleep: the server applies the delay (without blocking its event loop) before
/// it sends the `535` reply. The value is plain state, not shared: a server keeps one in an actor or
/// behind a lock. Times are passed in, so tests need no clock.
///
/// The delay after the n-th consecutive failure is `initialDelay × growth^(n−1)`, capped at
/// `maximumDelay`. A client's count is forgotten after `forgetAfter` without failures, or at its
/// next success. At most `maximumClients` are tracked; beyond that the stalest records are dropped,
/// so memory stays bounded under a distributed attack.
public struct SASLFailureDamping: Sendable {
    /// The schedule.
    public struct Configuration: Sendable, Hashable {
        /// The delay after the first failure. Default 1 s (Postfix's `smtpd_error_sleep_time`).
        public var initialDelay: Duration
        /// The factor by which each further failure multiplies the delay. Default 2.
        public var growth: Int
        /// The longest delay. Default 30 s, well under the 5-minute command timeout of RFC 5321
        /// §4.5.3.2.7, so a legitimate client that mistyped is never timed out.
        public var maximumDelay: Duration
        /// How long a client's failures are remembered without a new one. Default 15 minutes.
        public var forgetAfter: Duration
        /// The most clients tracked at once. Default 10,000.
        public var maximumClients: Int

        /// The defaults above.
        public init(
            initialDelay: Duration = .seconds(1), growth: Int = 2, maximumDelay: Duration = .seconds(30),
            forgetAfter: Duration = .seconds(900), maximumClients: Int = 10_000
        ) {
            self.initialDelay = initialDelay
            self.growth = max(growth, 1)
            self.maximumDelay = maximumDelay
            self.forgetAfter = forgetAfter
            self.maximumClients = max(maximumClients, 1)
        }
    }

    private struct Record {
        var failures: Int
        var last: ContinuousClock.Instant
    }

    /// The schedule in force.
    public let configuration: Configuration
    private var records: [String: Record] = [:]

    /// Damping on `configuration`'s schedule.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Records a failed authentication by `client` (its address) at `now` and returns the delay
    /// to apply before answering.
    public mutating func recordFailure(client: String, now: ContinuousClock.Instant) -> Duration {
        var record = records[client].flatMap { isStale($0, now: now) ? nil : $0 } ?? Record(failures: 0, last: now)
        record.failures += 1
        record.last = now
        if records[client] == nil, records.count >= configuration.maximumClients { evict(now: now) }
        records[client] = record
        return delay(afterFailures: record.failures)
    }

    /// Forgets `client`'s failures after it authenticated.
    public mutating func recordSuccess(client: String) {
        records[client] = nil
    }

    /// The failures remembered for `client` at `now`.
    public func failures(client: String, now: ContinuousClock.Instant) -> Int {
        guard let record = records[client], !isStale(record, now: now) else { return 0 }
        return record.failures
    }

    /// The number of clients tracked.
    public var trackedClients: Int { records.count }

    /// The delay after `failures` consecutive failures.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = configuration.initialDelay
        for _ in 1..<min(failures, 64) {
            delay = delay * configuration.growth
            if delay >= configuration.maximumDelay { return configuration.maximumDelay }
        }
        return min(delay, configuration.maximumDelay)
    }

    private func isStale(_ record: Record, now: ContinuousClock.Instant) -> Bool {
        now - record.last > configuration.forgetAfter
    }

    /// Makes room: drops stale records, and if that is not enough the stalest tenth, so that the
    /// cost of a sort is shared by the many insertions that follow it.
    private mutating func evict(now: ContinuousClock.Instant) {
        records = records.filter { !isStale($0.value, now: now) }
        guard records.count >= configuration.maximumClients else { return }
        let excess = records.count - configuration.maximumClients + 1 + configuration.maximumClients / 10
        for (client, _) in records.sorted(by: { $0.value.last < $1.value.last }).prefix(excess) {
            records[client] = nil
        }
    }
}
