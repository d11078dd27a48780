/// A ``WorkerPool`` could not take or finish a call: it is full, the call is late, or the pool was
/// shut down. Always temporary for the caller's peer: an SMTP server answers a command that needed
/// the call with `451 4.3.0` (RFC 5321 §4.2.5, RFC 3463 §3.5 "other or undefined mail system
/// status"), and a client tries again later.
///
/// The message names the pool and the bound that was hit; it never holds what the call carried.
public struct WorkerPoolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the call was not answered.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// ``WorkerPool/Configuration/queueLimit`` calls were already waiting; refused at once.
        public static let queueFull = Kind("queue full")
        /// The call was not answered within its deadline (waiting or running); a running call
        /// still finishes on its thread, and its result is dropped.
        public static let deadlineExceeded = Kind("deadline exceeded")
        /// The pool was shut down before the call ran, or the call came afterwards.
        public static let shutDown = Kind("shut down")
        /// The system would not start a thread for the pool.
        public static let noThreads = Kind("no threads")

        /// The kind's name, as messages show it.
        public var description: String { name }
    }

    /// Why the call was not answered.
    public let kind: Kind
    /// The pool's ``WorkerPool/Configuration/name``.
    public let pool: String
    /// A sentence for an administrator: which pool, which bound.
    public let message: String

    /// An error of `kind` about `pool`.
    public init(_ kind: Kind, pool: String, message: String) {
        self.kind = kind
        self.pool = pool
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
