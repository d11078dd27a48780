public import MailSystem

extension WorkerPool.Configuration {
    /// The pool of libsasl2's calls (``CyrusSASLServer``: `sasl_server_start`, `sasl_server_step`,
    /// `sasl_checkpass`), which wait on sasldb reads, saslauthd's socket and PAM's failure delays:
    /// 8 threads, at most 32 calls waiting, each answered within 15 seconds. When eight checks
    /// hang on saslauthd or PAM, the next 32 wait their turn and any beyond fail at once with
    /// ``SASLError/Kind/temporaryFailure`` (SMTP `454 4.7.0`, RFC 4954 §6), as does a call that is
    /// not answered in time; nothing waits without bound, and native mechanisms (on
    /// ``keyDerivation``) never wait on libsasl2.
    public static let libsasl2 = WorkerPool.Configuration(
        name: "libsasl2", threads: 8, queueLimit: 32, deadline: .seconds(15))

    /// The pool of PBKDF2 key derivation (SCRAM on both sides, RFC 5802 §3; stored password
    /// hashes), which only burns CPU: 2 threads, so that a flood of SCRAM attempts queues instead
    /// of taking every core; at most 64 derivations waiting, each answered within 10 seconds,
    /// beyond which the exchange fails with ``SASLError/Kind/temporaryFailure``.
    public static let keyDerivation = WorkerPool.Configuration(
        name: "pbkdf2", threads: 2, queueLimit: 64, deadline: .seconds(10))
}

extension WorkerPool {
    /// The pool ``CyrusSASLServer`` runs libsasl2's calls on unless given another
    /// (`WorkerPool.Configuration.libsasl2`); never shut down.
    public static let libsasl2 = WorkerPool(.libsasl2)

    /// The pool MailAuth derives SCRAM and password-hash keys on
    /// (`WorkerPool.Configuration.keyDerivation`); never shut down.
    public static let keyDerivation = WorkerPool(.keyDerivation)

    /// Runs MailAuth's blocking or CPU-bound work (a body that fails returns a `Result`); a pool that is full, late or shut down is a
    /// ``SASLError/Kind/temporaryFailure`` for `mechanism`.
    func authenticationWork<T: Sendable>(
        mechanism: SASLMechanismName? = nil, _ body: @escaping @Sendable () -> T
    ) async throws(SASLError) -> T {
        try await run({ () throws(SASLError) -> T in body() }) { error in
            SASLError(.temporaryFailure, "\(error.message); try again later", mechanism: mechanism)
        }
    }
}
