/// What a server mechanism wants sent after it has consumed the client's message (RFC 4422 §3.4).
///
/// A failed exchange is not a step: the mechanism throws ``SASLError`` instead, and is then over.
public enum SASLServerStep: Sendable {
    /// Send this challenge and feed the client's answer to ``SASLServerMechanism/step(_:)``.
    /// In SMTP it becomes a `334` reply, base64-encoded by the protocol layer (RFC 4954 §4); an empty
    /// challenge is an empty `334 ` line.
    case challenge([UInt8])
    /// The client is authenticated.
    ///
    /// `additionalData` is the mechanism's "additional data with success" (RFC 4422 §3.6), for
    /// example SCRAM's `v=` server signature. SMTP cannot carry it in the `235` reply, so the server
    /// sends it as one more `334` challenge, expects an empty response, and only then answers `235`
    /// (RFC 4422 §4, item 3c; RFC 4954 §4). It is `nil` for mechanisms that have none.
    case success(SASLAuthentication, additionalData: [UInt8]?)
}
