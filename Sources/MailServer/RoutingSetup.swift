public import MailMaps
import MailMapsBerkeleyDB
import MailMapsLDAP
public import MailRouting

/// Opens the tables a configuration names and builds its ``Router``.
public enum RoutingSetup {
    /// A map registry with every type SwiftMTA knows (text, aliases, list, inline, sequence, dns,
    /// hash, btree, ldap), asking `nameservers` (`host:port`) for DNS, or the system's resolvers
    /// when there are none.
    public static func registry(nameservers: [String] = []) throws(MailMapError) -> MailMapRegistry {
        var servers: [DNSResolver.Configuration.Nameserver] = []
        for text in nameservers { servers.append(try .init(parsing: text)) }
        var registry = MailMapRegistry(resolver: DNSResolver(configuration: .init(nameservers: servers)))
        registry.registerStandardTypes()
        registry.registerBerkeleyDB()
        registry.registerLDAP()
        return registry
    }

    /// Opens every table of `configuration` and returns the router over them.
    ///
    /// Class files (local-host-names, relay-domains) given as `text:` are read as lists of names,
    /// as Sendmail reads them, and an aliases file given as `text:` in aliases(5) format.
    ///
    /// - Throws: ``MailMapError`` for a table that cannot be opened.
    public static func router(for configuration: SwiftMTAConfiguration, registry: MailMapRegistry) throws(MailMapError) -> Router {
        let specs = configuration.tables
        func open(_ spec: String?) throws(MailMapError) -> (any MailMap)? {
            guard let spec else { return nil }
            return try registry.open(spec)
        }
        /// A `text:` spec for a file in another format is read in that format.
        func open(_ spec: String?, textMeans type: String) throws(MailMapError) -> (any MailMap)? {
            guard let spec else { return nil }
            let parsed = try MailMapSpec(spec)
            if parsed.type == "text" { return try registry.open(MailMapSpec(type: type, name: parsed.name)) }
            return try registry.open(parsed)
        }
        var tables = RoutingTables(
            localHostNames: try open(specs.localHostNames, textMeans: "list"),
            relayDomains: try open(specs.relayDomains, textMeans: "list"),
            virtusertable: try open(specs.virtusertable),
            access: try open(specs.access),
            mailertable: try open(specs.mailertable),
            authinfo: try open(specs.authinfo),
            aliases: try open(specs.aliases, textMeans: "aliases"),
            resolver: registry.resolver)
        switch specs.localUsers {
        case "passwd": tables.localUsers = .passwd(registry.threadPool)
        case "any": tables.localUsers = nil
        default: tables.localUsers = .map(try registry.open(specs.localUsers))
        }
        return Router(configuration: configuration.routing, tables: tables)
    }
}
