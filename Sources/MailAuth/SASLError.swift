/// Why a SASL exchange, a credential file or the Cyrus bridge failed.
///
/// The ``message`` names what went wrong and where (the mechanism and step, a file and line) and
/// never carries a password, a proof, a token or any other part of a credential: it is safe to log.
/// It is not meant for the peer: an SMTP server answers with the reply that ``Kind`` suggests
/// (RFC 4954 §6) and keeps the message for its log.
public struct SASLError: Error, Sendable, CustomStringConvertible {
    /// The class of failure, an open set.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// The credentials were wrong, or the user is unknown (the two are never told apart).
        /// SMTP: `535 5.7.8 Authentication credentials invalid` (RFC 4954 §6).
        public static let authenticationFailed = Kind("authentication failed")
        /// The credentials were right but the user may not act as the requested authorization
        /// identity. SMTP: `535 5.7.8` as well, so that a probe learns nothing more.
        public static let authorizationFailed = Kind("authorization failed")
        /// The peer sent something the mechanism's grammar does not allow, or too much of it.
        /// SMTP: `501 5.5.2 Cannot decode response` (RFC 4954 §6) or `535 5.7.8`.
        public static let malformed = Kind("malformed message")
        /// The credential store could not be consulted (a map, saslauthd or PAM failed).
        /// SMTP: `454 4.7.0 Temporary authentication failure` (RFC 4954 §6).
        public static let temporaryFailure = Kind("temporary failure")
        /// The mechanism is unknown, not enabled, or cannot run in this session (for example a
        /// `-PLUS` mechanism without TLS, EXTERNAL without a client certificate, or a
        /// challenge-response mechanism over a store that keeps only hashes).
        /// SMTP: `504 5.5.4 Unrecognized authentication type` (RFC 4954 §4).
        public static let mechanismUnavailable = Kind("mechanism unavailable")
        /// The exchange was already over, or a call came in the wrong order.
        public static let invalidState = Kind("invalid state")
        /// Client side: the server failed to prove that it knows the credentials (mutual
        /// authentication, RFC 5802 §5 `v=`, RFC 2831 §2.1.3 `rspauth`), or reported an error.
        public static let serverAuthenticationFailed = Kind("server authentication failed")
        /// A configuration or credential file is wrong; the message names the file and line.
        public static let configuration = Kind("configuration error")
    }

    /// The class of failure.
    public let kind: Kind
    /// What went wrong and where, free of secrets.
    public let message: String
    /// The mechanism that failed, when a mechanism did.
    public let mechanism: SASLMechanismName?
    /// The error a credential verifier threw, kept for the log (a verifier's errors must be free
    /// of secrets too).
    public let underlyingError: (any Error)?

    /// Makes an error; `message` must not contain credentials.
    public init(
        _ kind: Kind, _ message: String, mechanism: SASLMechanismName? = nil, underlyingError: (any Error)? = nil
    ) {
        self.kind = kind
        self.message = message
        self.mechanism = mechanism
        self.underlyingError = underlyingError
    }

    public var description: String {
        var text = mechanism.map { "\($0): " } ?? ""
        text += "\(kind): \(message)"
        if let underlyingError { text += " (\(underlyingError))" }
        return text
    }
}
