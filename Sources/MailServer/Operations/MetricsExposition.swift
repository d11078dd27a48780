import Metrics
import Prometheus

/// The swift-metrics backend of `swiftmta serve`: swift-prometheus's collector registry, with the
/// `# HELP` line of each metric from ``MetricsCatalogue`` and histogram buckets that fit what is
/// measured (a map lookup takes microseconds, not the seconds of the library's defaults).
///
/// The server's code only records through swift-metrics (`Counter`, `Meter`, `Timer`); an
/// application that embeds ``SMTPServer`` bootstraps the metrics backend of its choice instead.
struct MetricsExposition: MetricsFactory {
    let registry = PrometheusCollectorRegistry()

    /// Buckets for the lookups of a routing table: from a page-cache hit to an LDAP server that is
    /// slow to answer.
    static let lookupBuckets: [Duration] = [
        .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    static let defaultBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// The text exposition (Prometheus 0.0.4) of every metric recorded so far.
    func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricsCatalogue.help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        // The server records no value distributions: every recorder is a gauge.
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = label == MetricsCatalogue.mapLookupDuration ? Self.lookupBuckets : Self.defaultBuckets
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
