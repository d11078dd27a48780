extension WorkerPool {
    /// A pool's bounds: how many threads, how many calls may wait for one, and how long a call
    /// may take from submission to answer before its caller is told the pool is late.
    ///
    /// Each module that owns a pool names its configuration as a default beside it (MailMaps:
    /// `mailMaps`, `dnsLookups`; MailMapsLDAP: `ldapLookups`; MailAuth: `libsasl2`,
    /// `keyDerivation`), and documents it in its catalog.
    public struct Configuration: Hashable, Sendable {
        /// The pool's name, for messages and as its threads' name (the first 15 bytes).
        public var name: String
        /// How many threads run calls (at least one). They start on first use.
        public var threads: Int
        /// How many calls may wait for a thread (at least one) while every thread is busy; one
        /// more is refused at once with ``WorkerPoolError/Kind/queueFull``. Calls an idle thread
        /// takes at once do not count.
        public var queueLimit: Int
        /// How long a call may take, waiting and running, before its caller gets
        /// ``WorkerPoolError/Kind/deadlineExceeded``; ``WorkerPool/run(deadline:_:)`` can give
        /// one call another.
        public var deadline: Duration

        /// A pool of `threads` threads, at most `queueLimit` calls waiting, each call answered
        /// within `deadline`.
        public init(name: String, threads: Int, queueLimit: Int, deadline: Duration) {
            self.name = name
            self.threads = threads
            self.queueLimit = queueLimit
            self.deadline = deadline
        }
    }
}
