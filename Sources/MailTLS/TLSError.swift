/// A TLS connection that failed: a handshake the peer or OpenSSL broke off, a certificate that did
/// not verify, plaintext where only TLS may follow, a connection cut without close_notify.
///
/// The message names what failed, with whom (the peer's address when known) and why, with
/// OpenSSL's reason and, for verification, the X.509 reason (`hostname mismatch`). It never carries
/// application data or key material.
public struct TLSError: Error, Hashable, CustomStringConvertible {
    /// What kind of failure this is, for programs that react to it.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The handshake failed: no common protocol version or cipher, an alert from the peer, a
        /// peer that is not speaking TLS.
        public static let handshakeFailed = Kind("handshake failed")
        /// The peer's certificate did not verify as the policy requires (RFC 5280 §6, RFC 6125,
        /// RFC 7672).
        public static let verificationFailed = Kind("verification failed")
        /// The handshake did not finish within the configured time.
        public static let handshakeTimedOut = Kind("handshake timed out")
        /// Plaintext was received after STARTTLS and before TLS began (RFC 3207 §5, the "STARTTLS
        /// command injection" of CVE-2011-0411): the upgrade is refused.
        public static let unreadPlaintext = Kind("unread plaintext before TLS")
        /// The connection closed before the handshake finished or before an upgrade could begin.
        public static let connectionClosed = Kind("connection closed")
        /// The peer closed the TCP connection without a TLS close_notify (RFC 8446 §6.1): what it
        /// sent last may have been cut short.
        public static let uncleanShutdown = Kind("unclean shutdown")
        /// The peer sent a record OpenSSL refused after the handshake (a bad MAC, an unexpected
        /// message, a renegotiation attempt).
        public static let protocolError = Kind("protocol error")
        /// A TLSA record in presentation form does not parse.
        public static let malformedTLSARecord = Kind("malformed TLSA record")
        /// The operation does not fit the connection's state (STARTTLS on a connection that
        /// already runs TLS, a channel that is not open).
        public static let invalidState = Kind("invalid state")

        /// The kind's name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// A sentence for an administrator: what failed, with whom, and why.
    public let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
