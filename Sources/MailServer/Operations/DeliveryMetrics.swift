import Metrics

/// The queue runner's deliveries for `swiftmta_deliveries_total`: one per recipient and attempt,
/// by result (`delivered`, `deferred`, `bounced`) and destination — the mailer that took it
/// (`local`, `esmtp`, `smtp`, `relay`, `lmtp`, …), never an address or a domain, so that the
/// labels stay few whatever mail flows.
enum DeliveryMetrics {
    static func record(_ outcome: RecipientOutcome, mailer: String) {
        let result = switch outcome {
        case .delivered: "delivered"
        case .temporary: "deferred"
        case .permanent: "bounced"
        }
        Counter(label: MetricsCatalogue.deliveries, dimensions: [("result", result), ("destination", mailer)]).increment()
    }
}
