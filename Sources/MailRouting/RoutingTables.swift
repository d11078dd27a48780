public import MailMaps

/// The tables routing reads, opened: Sendmail's class files and maps, each optional as the
/// features that need them are.
public struct RoutingTables: Sendable {
    /// Class w from a file (`FEATURE(use_cw_file)`, local-host-names): a `list:` map.
    public var localHostNames: (any MailMap)?
    /// Class R (relay-domains): domains this host relays for, and their subdomains.
    public var relayDomains: (any MailMap)?
    /// `FEATURE(virtusertable)`.
    public var virtusertable: (any MailMap)?
    /// `FEATURE(access_db)`.
    public var access: (any MailMap)?
    /// `FEATURE(mailertable)`.
    public var mailertable: (any MailMap)?
    /// `FEATURE(authinfo)`: credentials for other servers. Its values are secrets: traces show them
    /// redacted.
    public var authinfo: (any MailMap)?
    /// aliases(5).
    public var aliases: (any MailMap)?
    /// Who exists locally; `nil` accepts any local name (as Sendmail's `/parse` does).
    public var localUsers: LocalUserDirectory?
    /// DNS, for relay_based_on_MX and DNSBL checks.
    public var resolver: DNSResolver?

    /// The tables routing reads, each already open (`nil` leaves its feature off; `localUsers`
    /// `nil` accepts any local name). Nothing is opened or read here; a map that fails, fails at
    /// lookup.
    public init(
        localHostNames: (any MailMap)? = nil,
        relayDomains: (any MailMap)? = nil,
        virtusertable: (any MailMap)? = nil,
        access: (any MailMap)? = nil,
        mailertable: (any MailMap)? = nil,
        authinfo: (any MailMap)? = nil,
        aliases: (any MailMap)? = nil,
        localUsers: LocalUserDirectory? = nil,
        resolver: DNSResolver? = nil
    ) {
        self.localHostNames = localHostNames
        self.relayDomains = relayDomains
        self.virtusertable = virtusertable
        self.access = access
        self.mailertable = mailertable
        self.authinfo = authinfo
        self.aliases = aliases
        self.localUsers = localUsers
        self.resolver = resolver
    }
}
