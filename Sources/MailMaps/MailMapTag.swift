/// The tags of Sendmail's access and authinfo maps, written before a key with a colon
/// (`Connect:206.10.252`, `From:spammer@example.com`, `AuthInfo:mailserver.somedom.com`).
///
/// An open set: other tags (`Spam:`, `TLS_Clt:`) are made with ``init(_:)``.
public struct MailMapTag: Hashable, Sendable, CustomStringConvertible {
    /// The tag's name, without the colon (`Connect`).
    public let name: String

    /// A tag named `name` (without the colon).
    public init(_ name: String) {
        self.name = name
    }

    /// `Connect:` — the connecting client's address or host name (FEATURE(access_db)).
    public static let connect = MailMapTag("Connect")
    /// `From:` — the envelope sender, its domain, or `user@`.
    public static let from = MailMapTag("From")
    /// `To:` — the envelope recipient, its domain, or `user@` (relay and blacklist_recipients).
    public static let to = MailMapTag("To")
    /// `AuthInfo:` — the credentials to use with a remote server (FEATURE(authinfo)).
    public static let authInfo = MailMapTag("AuthInfo")

    /// `Name:key`.
    public func key(_ key: String) -> String {
        "\(name):\(key)"
    }

    /// `Name:key` for each of `keys`, in order; with `includingUntagged`, each tagged key is
    /// followed by the key itself, the order in which Sendmail's access rules try them
    /// (`Connect:206.10.252.103`, `206.10.252.103`, `Connect:206.10.252`, `206.10.252`, …).
    public func keys(_ keys: [String], includingUntagged: Bool = false) -> [String] {
        guard includingUntagged else { return keys.map { key($0) } }
        return keys.flatMap { [key($0), $0] }
    }

    /// `Name:`.
    public var description: String { "\(name):" }
}
