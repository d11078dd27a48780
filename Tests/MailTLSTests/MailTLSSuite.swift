import Testing

/// Every MailTLS suite, run one test at a time. TLS tests are CPU-heavy (handshakes, openssl
/// peers); the machine has two cores and Swift concurrency two cooperative threads, which servers
/// under test in other modules' suites need to answer in time.
@Suite(.serialized)
enum MailTLSSuite {}
