import MailMaps
import Metrics

/// A routing table that reports each lookup's time and each failure to the server's metrics,
/// labelled by the configuration key that names the table (`maps.access`, `local_host_names`),
/// never by key or value. Lookups and searches go through unchanged: same values, same errors,
/// the same single trip to a blocking map's worker pool.
struct MeteredMailMap: MailMap {
    let base: any MailMap
    let table: String
    private let duration: Metrics.Timer

    init(_ base: any MailMap, table: String) {
        self.base = base
        self.table = table
        self.duration = Metrics.Timer(label: MetricsCatalogue.mapLookupDuration, dimensions: [("table", table)])
    }

    var spec: String { base.spec }

    func lookup(_ key: String) async throws(MailMapError) -> String? {
        let start = ContinuousClock.now
        defer { duration.recordInterval(since: start) }
        do {
            return try await base.lookup(key)
        } catch {
            failed(error)
            throw error
        }
    }

    func search(_ keys: [String]) async -> MailMapSearch {
        let start = ContinuousClock.now
        let found = await base.search(keys)
        duration.recordInterval(since: start)
        if let error = found.error { failed(error) }
        return found
    }

    private func failed(_ error: MailMapError) {
        Counter(label: MetricsCatalogue.mapLookupErrors, dimensions: [("table", table), ("kind", "\(error.kind)")]).increment()
    }
}

extension Metrics.Timer {
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
