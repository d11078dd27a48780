/// The routing and relay policy, in Sendmail's terms: what `sendmail.mc` says with
/// `VIRTUSER_DOMAIN`, `SMART_HOST`, `RELAY_MAILER(_ARGS)`, `MASQUERADE_AS`, `EXPOSED_USER` and the
/// features `masquerade_envelope`, `relay_based_on_MX`, `blacklist_recipients`, `delay_checks`,
/// `dnsbl` and `TRUST_AUTH_MECH`. The tables themselves are in ``RoutingTables``.
public struct RoutingConfiguration: Hashable, Sendable {
    /// The host's fully qualified name (`$j`); always in class w.
    public var hostname: String
    /// Names of this host besides those in local-host-names (always `localhost` and `[127.0.0.1]`).
    public var extraLocalNames: [String]
    /// Domains whose users live only in the virtusertable (`VIRTUSER_DOMAIN`, class {VirtHost}).
    public var virtualDomains: [String]
    /// `SMART_HOST`: `[mailer:]host`, where all mail for other hosts goes (unless a mailertable
    /// entry says otherwise); without a mailer, the `relay` mailer.
    public var smartHost: String?
    /// The mailers by name, with their transports and ports.
    public var mailers: [Mailer: MailerDefinition]
    /// `MASQUERADE_AS`: the domain sender addresses from this host take.
    public var masqueradeAs: String?
    /// `FEATURE(masquerade_envelope)`: masquerade the envelope sender too, not only headers.
    public var masqueradeEnvelope: Bool
    /// `MASQUERADE_DOMAIN`: other domains whose addresses are masqueraded too.
    public var masqueradeDomains: [String]
    /// `EXPOSED_USER`: users never masqueraded (root, typically).
    public var exposedUsers: [String]
    /// `FEATURE(relay_based_on_MX)`: relay for domains whose MX points to this host.
    public var relayBasedOnMX: Bool
    /// `FEATURE(blacklist_recipients)`: `To:` entries in the access map can refuse recipients.
    public var blacklistRecipients: Bool
    /// `FEATURE(delay_checks)`: client and sender refusals wait until RCPT, so that AUTH and
    /// per-recipient exceptions come first.
    public var delayChecks: Bool
    /// `FEATURE(accept_unresolvable_domains)`: take senders whose domain does not resolve
    /// (otherwise check_mail refuses them: 553 5.1.8, or 451 4.1.8 when DNS fails).
    public var acceptUnresolvableDomains: Bool
    /// `FEATURE(accept_unqualified_senders)`: take senders without a domain from remote clients
    /// (otherwise check_mail refuses them: 553 5.5.4).
    public var acceptUnqualifiedSenders: Bool
    /// `FEATURE(dnsbl)` zones, checked for the client's address.
    public var dnsbl: [DNSBLZone]
    /// `TRUST_AUTH_MECH`: AUTH with one of these mechanisms lets the client relay.
    public var trustedMechanisms: Set<String>
    /// How deep virtusertable and alias rewriting may go before it is called a loop (a negative
    /// value counts as 0).
    public var maximumRewriting: Int

    /// A policy for the host `hostname`; every other parameter is the property of the same name,
    /// and its default is Sendmail's without the feature (the standard mailers, rewriting 10 deep).
    /// A negative `maximumRewriting` counts as 0.
    public init(
        hostname: String,
        extraLocalNames: [String] = [],
        virtualDomains: [String] = [],
        smartHost: String? = nil,
        mailers: [Mailer: MailerDefinition] = MailerDefinition.standard(),
        masqueradeAs: String? = nil,
        masqueradeEnvelope: Bool = false,
        masqueradeDomains: [String] = [],
        exposedUsers: [String] = [],
        relayBasedOnMX: Bool = false,
        blacklistRecipients: Bool = false,
        delayChecks: Bool = false,
        acceptUnresolvableDomains: Bool = false,
        acceptUnqualifiedSenders: Bool = false,
        dnsbl: [DNSBLZone] = [],
        trustedMechanisms: Set<String> = [],
        maximumRewriting: Int = 10
    ) {
        self.hostname = hostname
        self.extraLocalNames = extraLocalNames
        self.virtualDomains = virtualDomains
        self.smartHost = smartHost
        self.mailers = mailers
        self.masqueradeAs = masqueradeAs
        self.masqueradeEnvelope = masqueradeEnvelope
        self.masqueradeDomains = masqueradeDomains
        self.exposedUsers = exposedUsers
        self.relayBasedOnMX = relayBasedOnMX
        self.blacklistRecipients = blacklistRecipients
        self.delayChecks = delayChecks
        self.acceptUnresolvableDomains = acceptUnresolvableDomains
        self.acceptUnqualifiedSenders = acceptUnqualifiedSenders
        self.dnsbl = dnsbl
        self.trustedMechanisms = trustedMechanisms
        self.maximumRewriting = maximumRewriting
    }
}
