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
    /// `local_users = "passwd"` is the `passwd:` map (the system's accounts, ``PasswdMap``).
    ///
    /// A table that cannot be opened (a missing or unreadable file, a corrupt database, an LDAP
    /// server that is down) does not stop the router: it stands in as a ``FailedMailMap`` whose
    /// every lookup fails with the reason, so that the answers needing it are temporary failures
    /// (451 4.3.0) and every other answer is unchanged — Postfix's "table that fails".
    /// ``openingErrors(for:registry:)`` lists them for start-up messages and check-config.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for a spec without a known type: a
    ///   configuration error, not a broken table.
    public static func router(for configuration: SwiftMTAConfiguration, registry: MailMapRegistry) throws(MailMapError) -> Router {
        let specs = configuration.tables
        // Each table reports its lookups' time and failures under its configuration key (the
        // server's metrics; without a metrics backend they cost nothing).
        func open(_ spec: String?, textMeans type: String? = nil, key: String) throws(MailMapError) -> (any MailMap)? {
            guard let spec else { return nil }
            return MeteredMailMap(try openOrFailing(effectiveSpec(spec, textMeans: type), registry: registry), table: key)
        }
        var tables = RoutingTables(
            localHostNames: try open(specs.localHostNames, textMeans: "list", key: "local_host_names"),
            relayDomains: try open(specs.relayDomains, textMeans: "list", key: "relay_domains"),
            virtusertable: try open(specs.virtusertable, key: "maps.virtusertable"),
            access: try open(specs.access, key: "maps.access"),
            mailertable: try open(specs.mailertable, key: "maps.mailertable"),
            authinfo: try open(specs.authinfo, key: "maps.authinfo"),
            aliases: try open(specs.aliases, textMeans: "aliases", key: "maps.aliases"),
            resolver: registry.resolver)
        switch specs.localUsers {
        case "any": tables.localUsers = nil
        case "passwd": tables.localUsers = .map(MeteredMailMap(try openOrFailing("passwd:", registry: registry), table: "local_users"))
        default: tables.localUsers = .map(MeteredMailMap(try openOrFailing(specs.localUsers, registry: registry), table: "local_users"))
        }
        return Router(configuration: configuration.routing, tables: tables)
    }

    /// The map (``MailMapRegistry/openOrFailing(_:)``), or a failing stand-in when it cannot be
    /// opened; a spec without a known type is thrown.
    private static func openOrFailing(_ spec: String, registry: MailMapRegistry) throws(MailMapError) -> any MailMap {
        let parsed = try MailMapSpec(spec)
        guard registry.types.contains(parsed.type) else {
            throw MailMapError(.badSpec, map: spec,
                message: "map spec \"\(spec)\": unknown map type \"\(parsed.type)\" (known: \(registry.types.joined(separator: ", ")))")
        }
        return registry.openOrFailing(spec)
    }

    /// The tables of `configuration` that cannot be opened, with why: what ``router(for:registry:)``
    /// replaced by failing stand-ins.
    public static func openingErrors(for configuration: SwiftMTAConfiguration, registry: MailMapRegistry) -> [MailMapError] {
        let specs = configuration.tables
        let named: [(String?, String?)] = [
            (specs.localHostNames, "list"), (specs.relayDomains, "list"), (specs.virtusertable, nil), (specs.access, nil),
            (specs.mailertable, nil), (specs.authinfo, nil), (specs.aliases, "aliases"),
            (["any", "passwd"].contains(specs.localUsers) ? nil : specs.localUsers, nil),
        ]
        var errors: [MailMapError] = []
        for case let (spec?, type) in named {
            do {
                _ = try registry.open(effectiveSpec(spec, textMeans: type))
            } catch {
                errors.append(error)
            }
        }
        return errors
    }

    /// A `text:` spec for a file in another format is read in that format.
    private static func effectiveSpec(_ spec: String, textMeans type: String?) -> String {
        guard let type, let parsed = try? MailMapSpec(spec), parsed.type == "text" else { return spec }
        return MailMapSpec(type: type, name: parsed.name).description
    }
}
