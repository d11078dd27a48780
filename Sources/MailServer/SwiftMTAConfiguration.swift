public import MailRouting
import MailMaps
import TOMLKit
#if canImport(Glibc)
import Glibc
#endif

/// The whole configuration, from one TOML file in Sendmail's vocabulary (see DESIGN.md): names
/// say which Sendmail feature they stand for, map values are MailMaps `type:name` specs.
///
/// ```toml
/// hostname = "mx.real-time.com"                       # $j
/// local_host_names = "text:/etc/mail/local-host-names" # class w
/// virtuser_domains = ["virt.example"]                  # VIRTUSER_DOMAIN
///
/// [maps]
/// virtusertable = "hash:/etc/mail/virtusertable"
/// access = "hash:/etc/mail/access"
///
/// [routing]
/// smart_host = "relay:[mailhost.somedom.com]"
/// relay_mailer_port = 587
/// ```
///
/// Every key is checked: a wrong type, an unknown key (a typo) or a malformed spec is a
/// ``ConfigurationError`` naming the key and its line.
public struct SwiftMTAConfiguration: Sendable {
    /// Map specs by table name (the `[maps]` section and the class files).
    public struct Tables: Hashable, Sendable {
        public var localHostNames: String?
        public var relayDomains: String?
        public var virtusertable: String?
        public var access: String?
        public var mailertable: String?
        public var authinfo: String?
        public var aliases: String?
        /// `passwd` (the system's users), `any` (no check), or a map spec.
        public var localUsers: String = "passwd"
    }

    /// `[auth]`.
    public struct Authentication: Hashable, Sendable {
        /// confAUTH_MECHANISMS.
        public var mechanisms: [String] = []
        /// TRUST_AUTH_MECH.
        public var trustedMechanisms: [String] = []
        /// confAUTH_OPTIONS letters (`p`: no plaintext mechanisms without TLS).
        public var options: [String] = []
        /// `cyrus` or `passwd:PATH`.
        public var backend: String?
    }

    /// `[tls]`: PEM files (confSERVER_CERT, confSERVER_KEY, confCACERT_PATH, confCLIENT_CERT, confCLIENT_KEY).
    public struct TLSFiles: Hashable, Sendable {
        public var certificate: String?
        public var key: String?
        public var caPath: String?
        public var caFile: String?
        public var clientCertificate: String?
        public var clientKey: String?
    }

    /// `[smtp]`.
    public struct SMTPSettings: Hashable, Sendable {
        /// confSMTP_LOGIN_MSG (`$j` is the host name, `$b` the date).
        public var greeting: String?
        /// confPRIVACY_FLAGS.
        public var privacy: [String] = []
        /// HELP_FILE.
        public var helpFile: String?
    }

    /// The file it came from (`<embedded>` for the default).
    public var file: String
    /// Routing and relay policy.
    public var routing: RoutingConfiguration
    /// The tables.
    public var tables: Tables
    /// `[auth]`.
    public var authentication: Authentication
    /// `[tls]`.
    public var tls: TLSFiles
    /// `[smtp]`.
    public var smtp: SMTPSettings
    /// `[[listen]]`.
    public var listeners: [ServerConfiguration.Listener]
    /// `[dns] nameservers`: where DNS questions go (`127.0.0.1:5353`); empty for the system's.
    public var nameservers: [String]
    /// `[queue]`: the spool directory and the retry and return times.
    public var queue = QueueSettings()

    /// Reads and checks a configuration file.
    public static func load(path: String) throws(ConfigurationError) -> SwiftMTAConfiguration {
        let text: String
        do {
            text = try ConfigurationFile.read(path)
        } catch {
            throw ConfigurationError(file: path, key: nil, line: nil, message: error.description)
        }
        return try parse(text, file: path)
    }

    /// Parses and checks configuration text.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> SwiftMTAConfiguration {
        let document: TOMLTable
        do {
            document = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: file, key: nil, line: error.source.begin.line, message: "TOML syntax: \(error.description) (column \(error.source.begin.column))")
        } catch {
            throw ConfigurationError(file: file, key: nil, line: nil, message: "TOML syntax: \(error)")
        }
        let reader = ConfigurationReader(file: file, text: text)
        try reader.checkKeys(document, at: "", allowed: [
            "hostname", "local_host_names", "virtuser_domains", "relay_domains", "local_users", "local_names",
            "maps", "routing", "relay", "auth", "tls", "smtp", "listen", "dns", "queue",
        ])
        let hostname = try reader.string(document, "hostname", at: "") ?? ServerCommandLine.localHostname()
        var tables = Tables()
        tables.localHostNames = try spec(reader, document, "local_host_names", at: "")
        tables.relayDomains = try spec(reader, document, "relay_domains", at: "")
        if let users = try reader.string(document, "local_users", at: "") {
            if users != "passwd", users != "any" { _ = try spec(reader, document, "local_users", at: "") }
            tables.localUsers = users
        }
        var routing = RoutingConfiguration(hostname: hostname)
        routing.virtualDomains = try reader.strings(document, "virtuser_domains", at: "") ?? []
        routing.extraLocalNames = try reader.strings(document, "local_names", at: "") ?? []

        if let maps = try reader.table(document, "maps", at: "") {
            try reader.checkKeys(maps, at: "maps", allowed: ["virtusertable", "access", "mailertable", "authinfo", "aliases"])
            tables.virtusertable = try spec(reader, maps, "virtusertable", at: "maps")
            tables.access = try spec(reader, maps, "access", at: "maps")
            tables.mailertable = try spec(reader, maps, "mailertable", at: "maps")
            tables.authinfo = try spec(reader, maps, "authinfo", at: "maps")
            tables.aliases = try spec(reader, maps, "aliases", at: "maps")
        }

        if let section = try reader.table(document, "routing", at: "") {
            try reader.checkKeys(section, at: "routing", allowed: [
                "smart_host", "relay_mailer", "relay_mailer_port", "masquerade_as", "masquerade_envelope",
                "masquerade_domains", "exposed_users",
            ])
            routing.smartHost = try reader.string(section, "smart_host", at: "routing")
            if let smartHost = routing.smartHost, smartHost.isEmpty || smartHost.contains(" ") {
                throw reader.error("routing.smart_host", "must be [mailer:]host or [mailer:][host], without spaces")
            }
            var relayTransport = MailerDefinition.Transport.esmtp
            if let mailer = try reader.string(section, "relay_mailer", at: "routing") {
                switch mailer {
                case "esmtp", "relay", "smtp8", "dsmtp": relayTransport = .esmtp
                case "smtp": relayTransport = .smtp
                default: throw reader.error("routing.relay_mailer", "must be esmtp, smtp, smtp8 or dsmtp, not \"\(mailer)\"")
                }
            }
            let relayPort = try reader.int(section, "relay_mailer_port", at: "routing", range: 1...65535) ?? 25
            routing.mailers = MailerDefinition.standard(relayPort: relayPort, relayTransport: relayTransport)
            routing.masqueradeAs = try reader.string(section, "masquerade_as", at: "routing")
            routing.masqueradeEnvelope = try reader.bool(section, "masquerade_envelope", at: "routing") ?? false
            routing.masqueradeDomains = try reader.strings(section, "masquerade_domains", at: "routing") ?? []
            routing.exposedUsers = try reader.strings(section, "exposed_users", at: "routing") ?? []
        }

        if let section = try reader.table(document, "relay", at: "") {
            try reader.checkKeys(section, at: "relay", allowed: [
                "relay_based_on_mx", "blacklist_recipients", "blocklist_recipients", "delay_checks", "dnsbl",
                "accept_unresolvable_domains", "accept_unqualified_senders",
            ])
            routing.relayBasedOnMX = try reader.bool(section, "relay_based_on_mx", at: "relay") ?? false
            let blacklist = try reader.bool(section, "blacklist_recipients", at: "relay")
            let blocklist = try reader.bool(section, "blocklist_recipients", at: "relay")
            routing.blacklistRecipients = blacklist ?? blocklist ?? false
            routing.delayChecks = try reader.bool(section, "delay_checks", at: "relay") ?? false
            routing.acceptUnresolvableDomains = try reader.bool(section, "accept_unresolvable_domains", at: "relay") ?? false
            routing.acceptUnqualifiedSenders = try reader.bool(section, "accept_unqualified_senders", at: "relay") ?? false
            for (index, zone) in (try reader.tables(section, "dnsbl", at: "relay") ?? []).enumerated() {
                let path = "relay.dnsbl[\(index)]"
                try reader.checkKeys(zone, at: path, allowed: ["zone", "message"])
                guard let name = try reader.string(zone, "zone", at: path), !name.isEmpty else {
                    throw reader.error("\(path).zone", "is required")
                }
                routing.dnsbl.append(DNSBLZone(zone: name, message: try reader.string(zone, "message", at: path)))
            }
        }

        var authentication = Authentication()
        if let section = try reader.table(document, "auth", at: "") {
            try reader.checkKeys(section, at: "auth", allowed: ["mechanisms", "trusted_mechanisms", "options", "backend"])
            authentication.mechanisms = (try reader.strings(section, "mechanisms", at: "auth") ?? []).map { $0.uppercased() }
            authentication.trustedMechanisms = (try reader.strings(section, "trusted_mechanisms", at: "auth") ?? []).map { $0.uppercased() }
            authentication.options = try reader.strings(section, "options", at: "auth") ?? []
            authentication.backend = try reader.string(section, "backend", at: "auth")
            for mechanism in authentication.trustedMechanisms where !authentication.mechanisms.contains(mechanism) {
                throw reader.error("auth.trusted_mechanisms", "\(mechanism) is trusted but not in auth.mechanisms")
            }
        }
        routing.trustedMechanisms = Set(authentication.trustedMechanisms)

        var tls = TLSFiles()
        if let section = try reader.table(document, "tls", at: "") {
            try reader.checkKeys(section, at: "tls", allowed: ["certificate", "key", "ca_path", "ca_file", "client_certificate", "client_key"])
            tls.certificate = try reader.string(section, "certificate", at: "tls")
            tls.key = try reader.string(section, "key", at: "tls")
            tls.caPath = try reader.string(section, "ca_path", at: "tls")
            tls.caFile = try reader.string(section, "ca_file", at: "tls")
            tls.clientCertificate = try reader.string(section, "client_certificate", at: "tls")
            tls.clientKey = try reader.string(section, "client_key", at: "tls")
            if (tls.certificate == nil) != (tls.key == nil) {
                throw reader.error("tls", "certificate and key go together")
            }
        }

        var smtp = SMTPSettings()
        if let section = try reader.table(document, "smtp", at: "") {
            try reader.checkKeys(section, at: "smtp", allowed: ["greeting", "privacy", "help_file"])
            smtp.greeting = try reader.string(section, "greeting", at: "smtp")
            smtp.privacy = try reader.strings(section, "privacy", at: "smtp") ?? []
            smtp.helpFile = try reader.string(section, "help_file", at: "smtp")
        }

        var listeners: [ServerConfiguration.Listener] = []
        for (index, listen) in (try reader.tables(document, "listen", at: "") ?? []).enumerated() {
            let path = "listen[\(index)]"
            try reader.checkKeys(listen, at: path, allowed: ["address", "mode"])
            guard let address = try reader.string(listen, "address", at: path) else {
                throw reader.error("\(path).address", "is required (\"host:port\")")
            }
            guard let (host, port) = Self.hostAndPort(address) else {
                throw reader.error("\(path).address", "must be host:port or [IPv6]:port, not \"\(address)\"")
            }
            let modeName = try reader.string(listen, "mode", at: path) ?? "smtp"
            guard let mode = ServerConfiguration.ListenerMode(name: modeName) else {
                throw reader.error("\(path).mode", "must be smtp, submission, smtps or lmtp, not \"\(modeName)\"")
            }
            listeners.append(ServerConfiguration.Listener(host: host, port: port, mode: mode))
        }

        var nameservers: [String] = []
        if let section = try reader.table(document, "dns", at: "") {
            try reader.checkKeys(section, at: "dns", allowed: ["nameservers"])
            nameservers = try reader.strings(section, "nameservers", at: "dns") ?? []
            for (index, server) in nameservers.enumerated() {
                do {
                    _ = try DNSResolver.Configuration.Nameserver(parsing: server)
                } catch {
                    throw reader.error("dns.nameservers[\(index)]", error.message)
                }
            }
        }

        return SwiftMTAConfiguration(
            file: file, routing: routing, tables: tables, authentication: authentication, tls: tls,
            smtp: smtp, listeners: listeners, nameservers: nameservers,
            queue: try QueueSettings.read(document, reader))
    }

    /// A map spec value, checked for `type:name` form.
    private static func spec(_ reader: ConfigurationReader, _ table: TOMLTable, _ key: String, at path: String) throws(ConfigurationError) -> String? {
        guard let text = try reader.string(table, key, at: path) else { return nil }
        do {
            _ = try MailMapSpec(text)
        } catch {
            throw reader.error(path.isEmpty ? key : "\(path).\(key)", error.message)
        }
        return text
    }

    /// `host:port`, `[v6]:port`.
    static func hostAndPort(_ text: String) -> (String, Int)? {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (host, port)
    }
}
