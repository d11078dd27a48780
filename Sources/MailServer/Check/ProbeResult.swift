/// One line of `swiftmta check server`'s report: a probe, what it found, and the evidence.
struct ProbeResult: Sendable {
    /// What the probe found.
    enum Status: String, Sendable {
        /// The server behaved safely.
        case pass
        /// The server is open to what the probe tried.
        case fail = "FAIL"
        /// Not a flaw, but worth a look (a temporary refusal that may hide an open relay, a
        /// certificate that expires soon).
        case warn
        /// The probe could not run (no STARTTLS, no test mailbox given, the session refused first).
        case skip
    }

    /// The group (`relay`, `smuggling`, `starttls`, `auth`, `tls`, `certificate`, `limits`, `smtp`).
    var category: String
    /// The probe within its group (`user%relay-test.invalid@mx.example.org`, `bare LF`).
    var name: String
    var status: Status
    /// What the server answered, or why the probe did not run.
    var evidence: String
}
