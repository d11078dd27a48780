public import MailRouting
import MailAuth
import MailMaps
import MailSystem
import MailTLS
import NIOCore
import TOMLKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole configuration, from one TOML file in Sendmail's vocabulary: names say which
/// Sendmail feature they stand for, map values are MailMaps `type:name` specs. Every key is
/// described in `docs/configuration.md`.
///
/// ```toml
/// hostname = "mx.real-time.com"                       # $j
/// local_host_names = "text:/etc/mail/local-host-names" # class w
///
/// [maps]
/// access = "hash:/etc/mail/access"
///
/// [tls]
/// certificate = "/etc/mail/certs/sendmail.crt"
/// key = "/etc/mail/certs/sendmail.key"
///
/// [[listen]]
/// address = "0.0.0.0:25"
/// mode = "smtp"
/// ```
///
/// Every key is checked: a wrong type, an unknown key (a typo) or a malformed spec is a
/// ``ConfigurationError`` naming the file, the key and its line. Relative paths resolve against
/// the folder of the file (for the embedded default: the working directory).
/// ``check(path:)`` gives every error of a file, not only the first.
public struct SwiftMTAConfiguration: Sendable {
    /// Map specs by table name (the `[maps]` section and the class files).
    public struct Tables: Hashable, Sendable {
        /// `local_host_names`: more names of this host (class w).
        public var localHostNames: String?
        /// `relay_domains`: domains this host relays for (class R).
        public var relayDomains: String?
        /// `maps.virtusertable`: virtual addresses to their targets.
        public var virtusertable: String?
        /// `maps.access`: access control (RELAY, REJECT, DISCARD, OK, ERROR:).
        public var access: String?
        /// `maps.mailertable`: domain routes.
        public var mailertable: String?
        /// `maps.authinfo`: credentials for smart hosts (AuthInfo: entries).
        public var authinfo: String?
        /// `maps.aliases`: local aliases.
        public var aliases: String?
        /// `passwd` (the system's users), `any` (no check), or a map spec.
        public var localUsers: String = "passwd"

        /// Each spec with the key that set it, in file order.
        var keyed: [(key: String, spec: String)] {
            [("local_host_names", localHostNames), ("relay_domains", relayDomains), ("maps.virtusertable", virtusertable),
             ("maps.access", access), ("maps.mailertable", mailertable), ("maps.authinfo", authinfo),
             ("maps.aliases", aliases), ("local_users", localUsers == "passwd" || localUsers == "any" ? nil : localUsers)]
                .compactMap { key, spec in spec.map { (key, $0) } }
        }
    }

    /// `[auth]`.
    public struct Authentication: Hashable, Sendable {
        /// confAUTH_MECHANISMS.
        public var mechanisms: [String] = []
        /// TRUST_AUTH_MECH.
        public var trustedMechanisms: [String] = []
        /// confAUTH_OPTIONS letters (`p`: no plaintext mechanisms without TLS).
        public var options: [String] = []
        /// `cyrus` or `passwd:PATH` (the path resolved).
        public var backend: String?
        /// For `cyrus`: the sasldb2 file (`sasldb_path`).
        public var sasldb: String?
        /// For `cyrus`: a libsasl2 application file (`/etc/sasl2/Sendmail.conf`).
        public var saslConfigFile: String?
        /// For `cyrus`: the realm user names belong to (`saslpasswd2 -u`).
        public var realm: String?
        /// The delay after the first failed AUTH; it doubles with each further failure.
        public var failureDelay: Duration = .seconds(1)
        /// The longest delay after failed AUTH attempts.
        public var maximumFailureDelay: Duration = .seconds(30)
        /// `trusted_mechanisms` was not given: every offered mechanism lets a client relay.
        var trustsOfferedMechanisms = true
        /// `options` was not given: `p`, no plaintext mechanism before TLS.
        var optionsAbsent = true
    }

    /// `[tls]`: PEM files (confSERVER_CERT, confSERVER_KEY, confCACERT_PATH, confCLIENT_CERT,
    /// confCLIENT_KEY), paths resolved.
    public struct TLSFiles: Hashable, Sendable {
        /// `tls.certificate`: the server's certificate chain (PEM).
        public var certificate: String?
        /// `tls.key`: its private key (PEM); refused when readable by every user.
        public var key: String?
        /// `tls.ca_path`: a folder of trusted CA certificates.
        public var caPath: String?
        /// `tls.ca_file`: a PEM file of trusted CA certificates.
        public var caFile: String?
        /// `tls.client_certificate`: the certificate presented when relaying.
        public var clientCertificate: String?
        /// `tls.client_key`: its private key.
        public var clientKey: String?
        /// Make a self-signed certificate at ``certificate`` and ``key`` when neither exists.
        public var selfSigned = false
        /// The oldest TLS version accepted (`TLSv1.2` or `TLSv1.3`).
        public var minimumVersion = "TLSv1.2"
    }

    /// `[smtp]`.
    public struct SMTPSettings: Hashable, Sendable {
        /// confSMTP_LOGIN_MSG (`$j` is the host name, `$b` the date).
        public var greeting: String?
        /// confPRIVACY_FLAGS.
        public var privacy: [String] = ["authwarnings"]
        /// HELP_FILE (resolved).
        public var helpFile: String?
        /// confMAX_MESSAGE_SIZE.
        public var maximumMessageSize: Int?
        /// confMAX_RCPTS_PER_MESSAGE.
        public var maximumRecipients: Int?
        /// Timeout.command.
        public var commandTimeout: Duration?
        /// Whether `Received:` headers name the authenticated user.
        public var receivedHeaderShowsUser = false
        /// How long SIGTERM waits for open sessions before closing them.
        public var shutdownGracePeriod: Duration = .seconds(30)
    }

    /// The file it came from (`<embedded default>` for the default).
    public var file: String
    /// The folder relative paths resolve against.
    public var directory: String
    /// `hostname`, or the system's host name.
    public var hostname: String
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
    /// `[queue]`: the spool directory and the retry, warning and return times.
    public var queue: QueueSettings
    /// `[local]`, the queue runner's `[queue]` keys and `[maps] tls_policy`: how mail leaves.
    public var delivery = DeliverySettings()
    /// `[[listen]]`.
    public var listeners: [ServerConfiguration.Listener]
    /// `[dns] nameservers`: where DNS questions go (`127.0.0.1:5353`); empty for the system's.
    public var nameservers: [String]
    /// `[daemon]`: the account to run as after start, and the metrics endpoint.
    public var daemon = DaemonSettings()
    /// `[dns] reverse_lookups`: whether each client's host name is looked up before the greeting
    /// (PTR, confirmed by A or AAAA, the host table first), as Sendmail does; default `true`.
    public var reverseLookups = true
    /// `[dns] hosts_file`: the host table consulted before DNS; `nil` (an empty string in the
    /// file) for DNS alone. Default `/etc/hosts`.
    public var hostsFile: String? = "/etc/hosts"
    /// Where each key is, for errors found after parsing (a map that cannot be opened).
    let keyLines: [String: Int]

    /// The configuration `swiftmta serve` runs with when given no file: loopback listeners on
    /// unprivileged ports and every file under `./var`.
    public static let embeddedDefaultText = """
        # The embedded default: loopback only, every file under ./var of the working directory.
        [tls]
        certificate = "var/tls/cert.pem"
        key = "var/tls/key.pem"
        self_signed = true

        [auth]
        backend = "passwd:var/auth/passwd"
        mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        trusted_mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        options = ["p"]

        [queue]
        directory = "var/spool"

        [[listen]]
        address = "127.0.0.1:2525"
        mode = "smtp"

        [[listen]]
        address = "127.0.0.1:2587"
        mode = "submission"

        [[listen]]
        address = "127.0.0.1:2465"
        mode = "smtps"

        """

    /// The name the embedded default goes by in messages.
    public static let embeddedDefaultName = "<embedded default>"

    /// The embedded default, relative paths resolved against the working directory, with
    /// `hostname` (or the system's host name).
    public static func embeddedDefault(hostname: String? = nil) throws(ConfigurationError) -> SwiftMTAConfiguration {
        let (configuration, errors) = read(
            embeddedDefaultText, file: embeddedDefaultName, directory: currentDirectory(), hostname: hostname)
        if let first = errors.first { throw first }
        return configuration
    }

    /// Reads and checks a configuration file; throws its first error.
    public static func load(path: String) throws(ConfigurationError) -> SwiftMTAConfiguration {
        let (configuration, errors) = check(path: path)
        guard let configuration, errors.isEmpty else { throw errors[0] }
        return configuration
    }

    /// Reads and checks a configuration file: the configuration and every error found (the
    /// configuration is `nil` only when the file cannot be read or is not TOML).
    public static func check(path: String, hostname: String? = nil) -> (SwiftMTAConfiguration?, [ConfigurationError]) {
        let text: String
        do {
            // A configuration is a few kilobytes: larger files are refused, not read.
            text = try BoundedFile.readText(path, limit: 4 << 20)
        } catch {
            return (nil, [ConfigurationError(file: path, key: nil, line: nil, message: error.problem)])
        }
        let (configuration, errors) = read(text, file: path, directory: folder(of: path), hostname: hostname)
        if errors.first?.key == nil, errors.first?.message.hasPrefix("TOML syntax") == true { return (nil, errors) }
        return (configuration, errors)
    }

    /// Parses and checks configuration text; throws its first error. Relative paths resolve
    /// against `directory` (when `nil`: the folder of `file`, or the working directory).
    public static func parse(_ text: String, file: String, directory: String? = nil) throws(ConfigurationError) -> SwiftMTAConfiguration {
        let (configuration, errors) = read(text, file: file, directory: directory ?? folder(of: file), hostname: nil)
        if let first = errors.first { throw first }
        return configuration
    }

    /// The error for `key` with its line.
    func error(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, key: key, line: ConfigurationReader.line(of: key, in: keyLines), message: message)
    }

    // MARK: - Reading

    static func read(_ text: String, file: String, directory: String, hostname givenHostname: String?) -> (SwiftMTAConfiguration, [ConfigurationError]) {
        let reader = ConfigurationReader(file: file, text: text)
        let document: TOMLTable
        do {
            if let problem = ConfigurationReader.lexicalProblem(in: text) {
                reader.report(ConfigurationError(file: file, key: nil, line: problem.line, message: "TOML syntax: \(problem.message)"))
                document = TOMLTable()
            } else {
                document = try TOMLTable(string: text)
            }
        } catch let error as TOMLParseError {
            reader.report(ConfigurationError(file: file, key: nil, line: error.source.begin.line, message: "TOML syntax: \(error.description) (column \(error.source.begin.column))"))
            document = TOMLTable()
        } catch {
            reader.report(ConfigurationError(file: file, key: nil, line: nil, message: "TOML syntax: \(error)"))
            document = TOMLTable()
        }
        let paths = PathResolver(directory: directory)
        reader.checkKeys(document, at: "", allowed: ConfigurationKeys.allowed(""))
        var hostname = ServerCommandLine.localHostname()
        if let given = givenHostname {
            hostname = given
        } else if let configured = reader.string(document, "hostname", at: "") {
            if let problem = HostNameRule.problem(with: configured) {
                reader.report("hostname", problem)
            } else {
                hostname = configured
            }
        }
        var tables = Tables()
        tables.localHostNames = spec(reader, paths, document, "local_host_names", at: "")
        tables.relayDomains = spec(reader, paths, document, "relay_domains", at: "")
        if let users = reader.string(document, "local_users", at: "") {
            if users == "passwd" || users == "any" {
                tables.localUsers = users
            } else if let resolved = spec(reader, paths, document, "local_users", at: "") {
                tables.localUsers = resolved
            }
        }
        var routing = RoutingConfiguration(hostname: hostname)
        routing.virtualDomains = reader.strings(document, "virtuser_domains", at: "") ?? []
        routing.extraLocalNames = reader.strings(document, "local_names", at: "") ?? []

        if let maps = reader.table(document, "maps", at: "") {
            reader.checkKeys(maps, at: "maps", allowed: ConfigurationKeys.allowed("maps"))
            tables.virtusertable = spec(reader, paths, maps, "virtusertable", at: "maps")
            tables.access = spec(reader, paths, maps, "access", at: "maps")
            tables.mailertable = spec(reader, paths, maps, "mailertable", at: "maps")
            tables.authinfo = spec(reader, paths, maps, "authinfo", at: "maps")
            tables.aliases = spec(reader, paths, maps, "aliases", at: "maps")
        }

        if let section = reader.table(document, "routing", at: "") {
            readRouting(section, reader: reader, into: &routing)
        }
        if let section = reader.table(document, "relay", at: "") {
            readRelay(section, reader: reader, into: &routing)
        }

        var authentication = Authentication()
        if let section = reader.table(document, "auth", at: "") {
            readAuthentication(section, reader: reader, paths: paths, into: &authentication)
        }
        routing.trustedMechanisms = Set(authentication.trustsOfferedMechanisms ? authentication.mechanisms : authentication.trustedMechanisms)

        var tls = TLSFiles()
        if let section = reader.table(document, "tls", at: "") {
            readTLS(section, reader: reader, paths: paths, into: &tls)
        }

        var smtp = SMTPSettings()
        if let section = reader.table(document, "smtp", at: "") {
            readSMTP(section, reader: reader, paths: paths, into: &smtp)
        }

        let queue = QueueSettings.read(document, reader, resolve: paths.resolve)

        let listeners = readListeners(document, reader: reader, tls: tls)

        var nameservers: [String] = []
        var reverseLookups = true
        var hostsFile: String? = "/etc/hosts"
        if let section = reader.table(document, "dns", at: "") {
            reader.checkKeys(section, at: "dns", allowed: ConfigurationKeys.allowed("dns"))
            nameservers = reader.strings(section, "nameservers", at: "dns") ?? []
            reverseLookups = reader.bool(section, "reverse_lookups", at: "dns") ?? true
            if let file = reader.string(section, "hosts_file", at: "dns") {
                hostsFile = file.isEmpty ? nil : paths.resolve(file)
            }
            for (index, server) in nameservers.enumerated() {
                do {
                    _ = try DNSResolver.Configuration.Nameserver(parsing: server)
                } catch {
                    reader.report("dns.nameservers[\(index)]", error.message)
                }
            }
        }

        var configuration = SwiftMTAConfiguration(
            file: file, directory: directory, hostname: hostname, routing: routing, tables: tables,
            authentication: authentication, tls: tls, smtp: smtp, queue: queue, listeners: listeners,
            nameservers: nameservers, keyLines: reader.lines)
        configuration.daemon = DaemonSettings.read(document, reader)
        configuration.delivery = DeliverySettings.read(document, reader, paths: paths)
        configuration.reverseLookups = reverseLookups
        configuration.hostsFile = hostsFile
        return (configuration, reader.errors)
    }

    private static func readRouting(_ section: TOMLTable, reader: ConfigurationReader, into routing: inout RoutingConfiguration) {
        reader.checkKeys(section, at: "routing", allowed: ConfigurationKeys.allowed("routing"))
        if let smartHost = reader.string(section, "smart_host", at: "routing") {
            if smartHost.isEmpty || smartHost.contains(" ") {
                reader.report("routing.smart_host", "must be [mailer:]host or [mailer:][host], without spaces")
            } else {
                routing.smartHost = smartHost
            }
        }
        var relayTransport = MailerDefinition.Transport.esmtp
        if let mailer = reader.string(section, "relay_mailer", at: "routing") {
            switch mailer {
            case "esmtp", "relay", "smtp8", "dsmtp": relayTransport = .esmtp
            case "smtp": relayTransport = .smtp
            default: reader.report("routing.relay_mailer", "must be esmtp, smtp, smtp8 or dsmtp, not \"\(mailer)\"")
            }
        }
        let relayPort = reader.int(section, "relay_mailer_port", at: "routing", range: 1...65535) ?? 25
        routing.mailers = MailerDefinition.standard(relayPort: relayPort, relayTransport: relayTransport)
        routing.masqueradeAs = reader.string(section, "masquerade_as", at: "routing")
        routing.masqueradeEnvelope = reader.bool(section, "masquerade_envelope", at: "routing") ?? false
        routing.masqueradeDomains = reader.strings(section, "masquerade_domains", at: "routing") ?? []
        routing.exposedUsers = reader.strings(section, "exposed_users", at: "routing") ?? []
    }

    private static func readRelay(_ section: TOMLTable, reader: ConfigurationReader, into routing: inout RoutingConfiguration) {
        reader.checkKeys(section, at: "relay", allowed: ConfigurationKeys.allowed("relay"))
        routing.relayBasedOnMX = reader.bool(section, "relay_based_on_mx", at: "relay") ?? false
        let blacklist = reader.bool(section, "blacklist_recipients", at: "relay")
        let blocklist = reader.bool(section, "blocklist_recipients", at: "relay")
        routing.blacklistRecipients = blacklist ?? blocklist ?? false
        routing.delayChecks = reader.bool(section, "delay_checks", at: "relay") ?? false
        routing.acceptUnresolvableDomains = reader.bool(section, "accept_unresolvable_domains", at: "relay") ?? false
        routing.acceptUnqualifiedSenders = reader.bool(section, "accept_unqualified_senders", at: "relay") ?? false
        for (index, zone) in (reader.tables(section, "dnsbl", at: "relay") ?? []).enumerated() {
            let path = "relay.dnsbl[\(index)]"
            reader.checkKeys(zone, at: path, allowed: ConfigurationKeys.allowed("relay.dnsbl"))
            guard let name = reader.string(zone, "zone", at: path), !name.isEmpty else {
                reader.report("\(path).zone", "is required")
                continue
            }
            routing.dnsbl.append(DNSBLZone(zone: name, message: reader.string(zone, "message", at: path)))
        }
    }

    private static func readAuthentication(_ section: TOMLTable, reader: ConfigurationReader, paths: PathResolver, into authentication: inout Authentication) {
        reader.checkKeys(section, at: "auth", allowed: ConfigurationKeys.allowed("auth"))
        func mechanisms(_ key: String) -> [String] {
            var result: [String] = []
            for (index, name) in (reader.strings(section, key, at: "auth") ?? []).enumerated() {
                guard let mechanism = SASLMechanismName(name) else {
                    reader.report("auth.\(key)[\(index)]", "\"\(name)\" is not a SASL mechanism name (RFC 4422 §3.1)")
                    continue
                }
                result.append(mechanism.rawValue)
            }
            return result
        }
        authentication.mechanisms = mechanisms("mechanisms")
        authentication.trustedMechanisms = mechanisms("trusted_mechanisms")
        authentication.trustsOfferedMechanisms = section["trusted_mechanisms"] == nil
        authentication.optionsAbsent = section["options"] == nil
        authentication.options = reader.strings(section, "options", at: "auth") ?? []
        do {
            _ = try SASLAuthOptions(sendmailFlags: authentication.options.joined(separator: " "))
        } catch {
            reader.report("auth.options", error.message)
        }
        if let backend = reader.string(section, "backend", at: "auth") {
            if backend == "cyrus" {
                authentication.backend = backend
            } else if backend.hasPrefix("passwd:"), backend.count > "passwd:".count {
                authentication.backend = "passwd:" + paths.resolve(String(backend.dropFirst("passwd:".count)))
            } else {
                reader.report("auth.backend", "must be \"cyrus\" or \"passwd:PATH\" (a password file written by swiftmta auth add), not \"\(backend)\"")
            }
        }
        authentication.sasldb = reader.string(section, "sasldb", at: "auth").map(paths.resolve)
        authentication.saslConfigFile = reader.string(section, "sasl_config", at: "auth").map(paths.resolve)
        authentication.realm = reader.string(section, "realm", at: "auth")
        if authentication.backend != "cyrus" {
            for key in ["sasldb", "sasl_config", "realm"] where section[key] != nil {
                reader.report("auth.\(key)", "applies only to backend = \"cyrus\"")
            }
        }
        if let delay = reader.duration(section, "failure_delay", at: "auth", range: .zero ... .seconds(60)) {
            authentication.failureDelay = delay
        }
        if let delay = reader.duration(section, "max_failure_delay", at: "auth", range: .zero ... .seconds(240)) {
            authentication.maximumFailureDelay = delay
        }
        for mechanism in authentication.trustedMechanisms where !authentication.mechanisms.isEmpty && !authentication.mechanisms.contains(mechanism) {
            reader.report("auth.trusted_mechanisms", "\(mechanism) is trusted but not in auth.mechanisms")
        }
    }

    private static func readTLS(_ section: TOMLTable, reader: ConfigurationReader, paths: PathResolver, into tls: inout TLSFiles) {
        reader.checkKeys(section, at: "tls", allowed: ConfigurationKeys.allowed("tls"))
        tls.certificate = reader.string(section, "certificate", at: "tls").map(paths.resolve)
        tls.key = reader.string(section, "key", at: "tls").map(paths.resolve)
        tls.caPath = reader.string(section, "ca_path", at: "tls").map(paths.resolve)
        tls.caFile = reader.string(section, "ca_file", at: "tls").map(paths.resolve)
        tls.clientCertificate = reader.string(section, "client_certificate", at: "tls").map(paths.resolve)
        tls.clientKey = reader.string(section, "client_key", at: "tls").map(paths.resolve)
        tls.selfSigned = reader.bool(section, "self_signed", at: "tls") ?? false
        if let version = reader.string(section, "min_version", at: "tls") {
            if let parsed = TLSProtocolVersion(name: version), parsed >= .tls1_2 {
                tls.minimumVersion = parsed.description
            } else {
                reader.report("tls.min_version", "must be TLSv1.2 or TLSv1.3 (older versions are refused, RFC 8996), not \"\(version)\"")
            }
        }
        if (section["certificate"] == nil) != (section["key"] == nil) {
            reader.report("tls", "certificate and key go together")
        }
        if tls.selfSigned, tls.certificate == nil {
            reader.report("tls.self_signed", "needs certificate and key: the paths where the certificate is made")
        }
    }

    private static func readSMTP(_ section: TOMLTable, reader: ConfigurationReader, paths: PathResolver, into smtp: inout SMTPSettings) {
        reader.checkKeys(section, at: "smtp", allowed: ConfigurationKeys.allowed("smtp"))
        smtp.greeting = reader.string(section, "greeting", at: "smtp")
        if let greeting = smtp.greeting, let problem = SendmailMacros.problem(in: greeting) {
            reader.report("smtp.greeting", problem)
        }
        // Unset: Sendmail's default (confPRIVACY_FLAGS `authwarnings`).
        smtp.privacy = reader.strings(section, "privacy", at: "smtp") ?? ["authwarnings"]
        do {
            _ = try PrivacyOptions(flags: smtp.privacy)
        } catch {
            reader.report("smtp.privacy", error.description)
        }
        smtp.helpFile = reader.string(section, "help_file", at: "smtp").map(paths.resolve)
        smtp.maximumMessageSize = reader.int(section, "max_message_size", at: "smtp", range: 1024...(1 << 40))
        smtp.maximumRecipients = reader.int(section, "max_recipients", at: "smtp", range: 1...100_000)
        // RFC 5321 §4.5.3.2.7: at least 5 minutes; shorter values are for tests and busy servers.
        smtp.commandTimeout = reader.duration(section, "command_timeout", at: "smtp", range: .seconds(1) ... .seconds(86_400))
        smtp.receivedHeaderShowsUser = reader.bool(section, "received_header_user", at: "smtp") ?? false
        if let grace = reader.duration(section, "shutdown_grace_period", at: "smtp", range: .zero ... .seconds(3600)) {
            smtp.shutdownGracePeriod = grace
        }
    }

    private static func readListeners(_ document: TOMLTable, reader: ConfigurationReader, tls: TLSFiles) -> [ServerConfiguration.Listener] {
        var listeners: [ServerConfiguration.Listener] = []
        for (index, listen) in (reader.tables(document, "listen", at: "") ?? []).enumerated() {
            let path = "listen[\(index)]"
            reader.checkKeys(listen, at: path, allowed: ConfigurationKeys.allowed("listen"))
            guard let address = reader.string(listen, "address", at: path) else {
                if listen["address"] == nil { reader.report("\(path).address", "is required (\"host:port\")") }
                continue
            }
            guard let (host, port) = Self.hostAndPort(address) else {
                reader.report("\(path).address", "must be host:port or [IPv6]:port, not \"\(address)\"")
                continue
            }
            guard (try? SocketAddress(ipAddress: host, port: port)) != nil else {
                reader.report("\(path).address", "\"\(host)\" is not a numeric IPv4 or IPv6 address")
                continue
            }
            let modeName = reader.string(listen, "mode", at: path) ?? "smtp"
            guard let mode = ServerConfiguration.ListenerMode(name: modeName) else {
                reader.report("\(path).mode", "must be smtp, submission, smtps or lmtp, not \"\(modeName)\"")
                continue
            }
            if mode == .smtps, tls.certificate == nil {
                reader.report("\(path).mode", "smtps (implicit TLS, RFC 8314) needs [tls] certificate and key")
            }
            var listener = ServerConfiguration.Listener(host: host, port: port, mode: mode)
            if let limit = reader.int(listen, "max_connections", at: path, range: 1...1_000_000) {
                listener.maximumConnections = limit
            }
            if let limit = reader.int(listen, "max_connections_per_client", at: path, range: 1...1_000_000) {
                listener.maximumConnectionsPerClient = limit
            }
            listeners.append(listener)
        }
        var seen: [String: Int] = [:]
        for (index, listener) in listeners.enumerated() {
            let key = "\(listener.host):\(listener.port)"
            if listener.port != 0, let first = seen[key] {
                reader.report("listen[\(index)].address", "\(key) is also listen[\(first)]'s address")
            }
            seen[key] = seen[key] ?? index
        }
        return listeners
    }

    /// A map spec value, checked for `type:name` form, its file path resolved.
    private static func spec(_ reader: ConfigurationReader, _ paths: PathResolver, _ table: TOMLTable, _ key: String, at path: String) -> String? {
        guard let text = reader.string(table, key, at: path) else { return nil }
        do {
            return try paths.resolve(spec: MailMapSpec(text)).description
        } catch {
            reader.report(reader.join(path, key), error.message)
            return nil
        }
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

    /// The absolute folder of `file` (the working directory for a bare name).
    static func folder(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return currentDirectory() }
        let folder = String(file[..<slash])
        if file.hasPrefix("/") { return folder.isEmpty ? "/" : folder }
        return PathResolver(directory: currentDirectory()).resolve(folder)
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
