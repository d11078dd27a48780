import MailAuth
import MailMaps
import MailMapsLDAP
import MailSystem
import Metrics
import Synchronization

/// What the metrics endpoint reads at each scrape rather than counts as it happens: the spool's
/// size and the age of its oldest message, and the load of every worker pool (threads, busy
/// threads, waiting calls, and the calls refused or answered late since start, which become
/// counters).
final class MetricsSampler: Sendable {
    private struct State {
        var queue: MailQueue?
        /// Each pool's refusals at the last scrape, so that the counters grow by the difference.
        var refusals: [String: (full: Int, late: Int)] = [:]
    }

    private let state = Mutex(State())
    private let pools: [WorkerPool]
    private let version: String

    /// Samples `pools` (default: every pool the server's modules keep) and, once attached, a spool.
    init(pools: [WorkerPool] = MetricsSampler.standardPools, version: String) {
        var seen: [WorkerPool] = []
        for pool in pools where !seen.contains(where: { $0 === pool }) { seen.append(pool) }
        self.pools = seen
        self.version = version
    }

    /// The pools of MailMaps (file maps, DNS), MailMapsLDAP and MailAuth (libsasl2, key derivation).
    static var standardPools: [WorkerPool] {
        [.mailMaps, .dnsLookups, .ldapLookups, .libsasl2, .keyDerivation]
    }

    /// The spool whose size and oldest message are reported (`nil`: none yet, or closed).
    func attach(queue: MailQueue?) {
        state.withLock { $0.queue = queue }
    }

    /// Refreshes the sampled metrics.
    func sample() async {
        Gauge(label: MetricsCatalogue.info, dimensions: [("version", version)]).record(1)
        let queue = state.withLock { $0.queue }
        if let queue {
            let messages = queue.list()
            Gauge(label: MetricsCatalogue.queueMessages).record(messages.count)
            let oldest = messages.map(\.envelope.receivedAt).min()
            let age = oldest.map { max(0, QueueTimestamp.now.secondsSince1970 - $0.secondsSince1970) } ?? 0
            Gauge(label: MetricsCatalogue.queueOldestAge).record(age)
        }
        for pool in pools {
            let load = pool.load
            let dimensions = [("pool", pool.name)]
            Gauge(label: MetricsCatalogue.poolThreads, dimensions: dimensions).record(load.threads)
            Gauge(label: MetricsCatalogue.poolBusyThreads, dimensions: dimensions).record(load.busyThreads)
            Gauge(label: MetricsCatalogue.poolQueuedCalls, dimensions: dimensions).record(load.queuedCalls)
            Gauge(label: MetricsCatalogue.poolQueueLimit, dimensions: dimensions).record(load.queueLimit)
            let previous = state.withLock { state in
                defer { state.refusals[pool.name] = (load.refusedFull, load.answeredLate) }
                return state.refusals[pool.name] ?? (0, 0)
            }
            Counter(label: MetricsCatalogue.poolRefusals, dimensions: dimensions + [("reason", "full")])
                .increment(by: max(0, load.refusedFull - previous.full))
            Counter(label: MetricsCatalogue.poolRefusals, dimensions: dimensions + [("reason", "late")])
                .increment(by: max(0, load.answeredLate - previous.late))
        }
    }
}
