/// Who is connected: what the access checks know of the client.
public struct ClientIdentity: Hashable, Sendable {
    /// How the client's host name was found (Sendmail's `${client_resolve}`).
    public enum NameResolution: Hashable, Sendable {
        /// The reverse lookup gave a name whose forward lookup holds the address (`OK`).
        case confirmed
        /// No name: the reverse lookup found nothing (`FAIL`).
        case failed
        /// The reverse lookup gave a name whose forward lookup does not hold the address (`FORGED`).
        case forged
        /// The reverse lookup failed for now (`TEMP`).
        case temporaryFailure
    }

    /// The client's IP address (`206.10.252.103`, `2001:db8::1`).
    public var address: String
    /// The client's host name, when its reverse lookup was confirmed by a forward one (Sendmail's
    /// `${client_name}`); `nil` otherwise.
    public var hostName: String?
    /// How the host name was found; by default `confirmed` with a host name, `failed` without.
    public var nameResolution: NameResolution
    /// The SASL mechanism the client authenticated with, if any.
    public var authenticationMechanism: String?
    /// The identity it authenticated as.
    public var authenticatedUser: String?

    /// A client at `address` (not checked: any text), with its confirmed `hostName` if any, how it
    /// was found (`nil`: ``NameResolution/confirmed`` with a host name, ``NameResolution/failed``
    /// without), and the AUTH mechanism and identity once it has authenticated (RFC 4954 §4).
    public init(
        address: String, hostName: String? = nil, nameResolution: NameResolution? = nil,
        authenticationMechanism: String? = nil, authenticatedUser: String? = nil
    ) {
        self.address = address
        self.hostName = hostName
        self.nameResolution = nameResolution ?? (hostName == nil ? .failed : .confirmed)
        self.authenticationMechanism = authenticationMechanism
        self.authenticatedUser = authenticatedUser
    }
}
