/// Every metric `swiftmta serve` reports, with its kind, labels and meaning: the one list the
/// Prometheus endpoint's `# HELP` lines come from and `docs/operations.md` follows (a test checks
/// that the two agree).
///
/// Labels hold only values from small, fixed sets — a listener mode, a mechanism the server
/// offers, an RFC 3463 enhanced status code, a table's configuration key, a pool's name — never an
/// address, a host or a user, so that the number of series stays bounded whatever clients send.
enum MetricsCatalogue {
    enum Kind: String {
        case counter, gauge, histogram
    }

    struct Entry {
        let name: String
        let kind: Kind
        let labels: [String]
        let help: String
    }

    static let connections = "swiftmta_connections_total"
    static let sessions = "swiftmta_sessions_total"
    static let sessionsOpen = "swiftmta_sessions_open"
    static let messagesAccepted = "swiftmta_messages_accepted_total"
    static let messagesRejected = "swiftmta_messages_rejected_total"
    static let authSuccesses = "swiftmta_auth_successes_total"
    static let authFailures = "swiftmta_auth_failures_total"
    static let tlsHandshakes = "swiftmta_tls_handshakes_total"
    static let queueMessages = "swiftmta_queue_messages"
    static let queueOldestAge = "swiftmta_queue_oldest_age_seconds"
    static let deliveries = "swiftmta_deliveries_total"
    static let mapLookupDuration = "swiftmta_map_lookup_duration_seconds"
    static let mapLookupErrors = "swiftmta_map_lookup_errors_total"
    static let poolThreads = "swiftmta_pool_threads"
    static let poolBusyThreads = "swiftmta_pool_busy_threads"
    static let poolQueuedCalls = "swiftmta_pool_queued_calls"
    static let poolQueueLimit = "swiftmta_pool_queue_limit"
    static let poolRefusals = "swiftmta_pool_refused_calls_total"
    static let reloads = "swiftmta_config_reloads_total"
    static let info = "swiftmta_build_info"

    static let entries: [Entry] = [
        Entry(name: connections, kind: .counter, labels: ["listener", "admitted"],
              help: "TCP connections accepted by a listener; admitted=false: over the listener's limits, refused with 421 4.7.0."),
        Entry(name: sessions, kind: .counter, labels: ["listener", "outcome"],
              help: "SMTP sessions ended, by how: quit, disconnected, timeout, refused, shutdown, closed, tls_failed, error."),
        Entry(name: sessionsOpen, kind: .gauge, labels: ["listener"],
              help: "SMTP sessions open now."),
        Entry(name: messagesAccepted, kind: .counter, labels: [],
              help: "Messages accepted into the spool (250 after DATA or BDAT LAST)."),
        Entry(name: messagesRejected, kind: .counter, labels: ["stage", "status"],
              help: "Refusals by stage (mail, rcpt, data, message) and RFC 3463 enhanced status code (the reply code when there is none)."),
        Entry(name: authSuccesses, kind: .counter, labels: ["mechanism"],
              help: "Successful AUTH exchanges (RFC 4954) by SASL mechanism."),
        Entry(name: authFailures, kind: .counter, labels: ["mechanism"],
              help: "Failed AUTH exchanges (RFC 4954) by SASL mechanism."),
        Entry(name: tlsHandshakes, kind: .counter, labels: ["listener", "version", "result"],
              help: "TLS handshakes (STARTTLS, RFC 3207, and implicit TLS, RFC 8314) by protocol version and result (ok, failed)."),
        Entry(name: queueMessages, kind: .gauge, labels: [],
              help: "Messages in the spool."),
        Entry(name: queueOldestAge, kind: .gauge, labels: [],
              help: "Age of the oldest message in the spool, in seconds (0 when it is empty)."),
        Entry(name: deliveries, kind: .counter, labels: ["result", "destination"],
              help: "Delivery attempts per recipient by result (delivered, deferred, bounced) and destination (the mailer: local, esmtp, smtp, relay, lmtp, discard, error)."),
        Entry(name: mapLookupDuration, kind: .histogram, labels: ["table"],
              help: "Time a lookup or search in a routing table took, in seconds, by configuration key."),
        Entry(name: mapLookupErrors, kind: .counter, labels: ["table", "kind"],
              help: "Lookups that failed (the table could not be read; the answer became a temporary failure), by configuration key and error kind."),
        Entry(name: poolThreads, kind: .gauge, labels: ["pool"],
              help: "Threads of a worker pool for blocking work (maps, DNS, LDAP, libsasl2, key derivation)."),
        Entry(name: poolBusyThreads, kind: .gauge, labels: ["pool"],
              help: "Threads of a worker pool running a call or a job now."),
        Entry(name: poolQueuedCalls, kind: .gauge, labels: ["pool"],
              help: "Calls waiting for a thread of a worker pool."),
        Entry(name: poolQueueLimit, kind: .gauge, labels: ["pool"],
              help: "The most calls that may wait for a worker pool; more are refused at once."),
        Entry(name: poolRefusals, kind: .counter, labels: ["pool", "reason"],
              help: "Calls a worker pool refused (reason full) or answered late (reason late): each became a temporary failure (451 4.3.0)."),
        Entry(name: reloads, kind: .counter, labels: ["result"],
              help: "Configuration reloads on SIGHUP by result (applied, refused)."),
        Entry(name: info, kind: .gauge, labels: ["version"],
              help: "Always 1; the label names the running version."),
    ]

    static let help: [String: String] = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.help) })
}
