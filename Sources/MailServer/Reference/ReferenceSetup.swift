import Logging
import MailAuth
import MailMaps
import MailRouting
import MailSystem
import MailTLS
import SMTPProtocol

/// Turns a ``SwiftMTAConfiguration`` into what the reference server runs: the
/// ``ServerConfiguration`` (listeners, limits, TLS context, AUTH, texts) and the
/// ``PolicyBackend`` (router, maps, store).
///
/// Every check that needs the file system is made here, and every problem becomes a
/// ``ConfigurationError`` naming the file, the key and its line: a map that cannot be opened, a
/// certificate that is missing, expired or does not match its key, a password file or sasldb2
/// that cannot be read, a help file that does not parse. All of them are collected, for
/// `swiftmta check-config`.
struct ReferenceSetup {
    /// What is ready to run, once the store is open (``openStore()``).
    struct Prepared {
        var server: ServerConfiguration
        var router: Router
        var pool: any TaskExecutor
        /// Lines for the start-up summary.
        var summary: [String]
        /// The queue runner's parts.
        var delivery: DeliverySetup
        /// How clients' host names are found (`[dns] reverse_lookups`); `nil` when they are not.
        var clientNames: ClientNameLookup?

        /// The backend over `store`.
        func backend(store: any MessageStore, logger: Logger) -> PolicyBackend {
            var backend = PolicyBackend(router: router, pool: pool, store: store, logger: logger)
            if let clientNames {
                backend.identify = { connection in await clientNames.identify(connection.clientAddress) }
            }
            return backend
        }
    }

    let configuration: SwiftMTAConfiguration
    /// Whether files the configuration says to make (the self-signed certificate, the embedded
    /// default's folders and empty password file) are made; `false` for check-config.
    let createsFiles: Bool
    let logger: Logger

    var isEmbeddedDefault: Bool { configuration.file == SwiftMTAConfiguration.embeddedDefaultName }

    func prepare() -> (Prepared?, [ConfigurationError]) {
        var errors: [ConfigurationError] = []
        var summary: [String] = []
        let hostname = configuration.hostname

        if configuration.listeners.isEmpty {
            errors.append(configuration.error("listen", "no [[listen]] entry: the server would listen nowhere (add one, like address = \"0.0.0.0:25\", mode = \"smtp\")"))
        }

        // The maps, one by one, so that an error names its key.
        let registry: MailMapRegistry
        do {
            registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
        } catch {
            errors.append(configuration.error("dns.nameservers", error.message))
            return (nil, errors)
        }
        var mapsOpen = true
        for (key, spec) in configuration.tables.keyed {
            do {
                _ = try registry.open(spec)
            } catch {
                errors.append(configuration.error(key, error.message.contains(spec) ? error.message : "\(spec): \(error.message)"))
                mapsOpen = false
            }
        }
        var router: Router?
        if mapsOpen {
            do {
                var routing = configuration
                routing.routing.trustedMechanisms = Set(trustedMechanisms(available: nil))
                router = try RoutingSetup.router(for: routing, registry: registry)
            } catch {
                errors.append(ConfigurationError(file: configuration.file, key: "maps", line: nil, message: error.message))
            }
        }

        let tls = makeTLS(errors: &errors, summary: &summary)
        let authentication = makeAuthentication(errors: &errors, summary: &summary)
        if authentication == nil, configuration.listeners.contains(where: { $0.mode.requiresAuthentication }) {
            summary.append("no [auth] backend: submission and smtps listeners refuse MAIL (AUTH is required there and not offered)")
        }

        var clientNames: ClientNameLookup?
        if configuration.reverseLookups {
            do {
                let hosts = try configuration.hostsFile.map { path throws(MailMapError) in try HostsFile(contentsOf: path) }
                clientNames = ClientNameLookup(hosts: hosts, resolver: registry.resolver)
            } catch {
                errors.append(configuration.error("dns.hosts_file", error.message))
            }
        }

        var help: SendmailHelpFile?
        if let path = configuration.smtp.helpFile {
            do {
                help = try SendmailHelpFile(text: BoundedFile.readText(path, limit: 1 << 20))
            } catch let error as SendmailHelpFile.ParseError {
                errors.append(configuration.error("smtp.help_file", "\(path)\(error.line.map { ":\($0)" } ?? ""): \(error.message)"))
            } catch {
                errors.append(configuration.error("smtp.help_file", "\(error)"))
            }
        }

        if !createsFiles {
            summary.append("accepted mail will be queued in \(configuration.queue.directory) (opened when the server starts)")
        }

        let delivery = router.map { DeliverySetup.make(configuration, registry: registry, router: $0, errors: &errors) }

        guard errors.isEmpty, let router, let delivery else { return (nil, errors) }
        summary.append(delivery.summary)
        var server = ServerConfiguration(hostname: hostname, listeners: configuration.listeners)
        server.tls = tls
        server.authentication = authentication
        server.help = help
        server.privacy = (try? PrivacyOptions(flags: configuration.smtp.privacy)) ?? []
        if let greeting = configuration.smtp.greeting { server.greeting = greeting }
        if let size = configuration.smtp.maximumMessageSize { server.limits.protocolLimits.messageSize = size }
        if let recipients = configuration.smtp.maximumRecipients { server.limits.protocolLimits.recipients = recipients }
        if let timeout = configuration.smtp.commandTimeout { server.limits.commandTimeout = timeout }
        server.limits.shutdownGracePeriod = configuration.smtp.shutdownGracePeriod
        server.receivedHeaderShowsUser = configuration.smtp.receivedHeaderShowsUser
        return (Prepared(server: server, router: router, pool: registry.threadPool, summary: summary, delivery: delivery, clientNames: clientNames), errors)
    }

    // MARK: - TLS

    private func makeTLS(errors: inout [ConfigurationError], summary: inout [String]) -> TLSServerContext? {
        let files = configuration.tls
        guard let certificate = files.certificate, let key = files.key else { return nil }
        if files.selfSigned, !FileSupport.exists(certificate), !FileSupport.exists(key) {
            guard createsFiles else {
                summary.append("a self-signed certificate will be made in \(certificate) on first start")
                return nil
            }
            do {
                try makeSelfSigned(certificate: certificate, key: key, summary: &summary)
            } catch {
                errors.append(configuration.error("tls.certificate", "\(error)"))
                return nil
            }
        }
        var tls = TLSConfiguration.server(certificateChainFile: certificate, privateKeyFile: key)
        tls.caDirectory = files.caPath
        tls.caFile = files.caFile
        tls.minimumProtocolVersion = TLSProtocolVersion(name: files.minimumVersion) ?? .tls1_2
        // As Sendmail does with its CA certificates: ask clients for a certificate and report
        // what verifying it found (verify=OK, FAIL, NO) without refusing those that have none.
        if files.caPath != nil || files.caFile != nil { tls.clientCertificates = .optional }
        do {
            let context = try TLSServerContext(configuration: tls)
            if let leaf = try? TLSCertificate.load(pemFile: certificate).first {
                summary.append("TLS certificate \(certificate): \(leaf.subject), valid until \(leaf.notAfter)")
            }
            return context
        } catch let error as TLSConfigurationError {
            let key = error.path == files.key ? "tls.key" : error.path == files.caPath ? "tls.ca_path" : error.path == files.caFile ? "tls.ca_file" : "tls.certificate"
            errors.append(configuration.error(key, error.message))
        } catch {
            errors.append(configuration.error("tls.certificate", "\(error)"))
        }
        return nil
    }

    private func makeSelfSigned(certificate: String, key: String, summary: inout [String]) throws {
        for path in [certificate, key] {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                try FileSupport.makeDirectories(String(path[..<slash]), mode: 0o700)
            }
        }
        var names = [configuration.hostname]
        if configuration.hostname.lowercased() != "localhost" { names.append("localhost") }
        let pair = try SelfSignedCertificate.generate(hostNames: names)
        try pair.write(certificateFile: certificate, privateKeyFile: key)
        summary.append("made a self-signed certificate for \(names.joined(separator: ", ")) in \(certificate) (sha256 \(pair.certificate.sha256Fingerprint))")
    }

    // MARK: - AUTH

    /// TRUST_AUTH_MECH: as configured, or every offered mechanism when the key is absent.
    private func trustedMechanisms(available: [SASLMechanismName]?) -> [String] {
        let auth = configuration.authentication
        if auth.trustsOfferedMechanisms {
            return auth.mechanisms.isEmpty ? (available ?? []).map(\.rawValue) : auth.mechanisms
        }
        return auth.trustedMechanisms
    }

    private func makeAuthentication(errors: inout [ConfigurationError], summary: inout [String]) -> ServerAuthentication? {
        let auth = configuration.authentication
        guard let backendSpec = auth.backend else {
            if !auth.mechanisms.isEmpty {
                errors.append(configuration.error("auth.mechanisms", "are offered, but auth.backend is missing: \"cyrus\" or \"passwd:PATH\""))
            }
            return nil
        }
        let requested = auth.mechanisms.compactMap { SASLMechanismName($0) }
        let backend: any SASLServerBackend
        if backendSpec == "cyrus" {
            var cyrus = CyrusSASLServer.Configuration(serverName: configuration.hostname, userRealm: auth.realm, sasldbPath: auth.sasldb)
            if !requested.isEmpty { cyrus.mechanisms = requested }
            if let file = auth.saslConfigFile {
                do {
                    try cyrus.load(applicationFile: file)
                } catch {
                    errors.append(configuration.error("auth.sasl_config", error.message))
                    return nil
                }
            }
            do {
                backend = try CyrusSASLServer(configuration: cyrus)
            } catch {
                errors.append(configuration.error(auth.sasldb != nil ? "auth.sasldb" : "auth.backend", error.message))
                return nil
            }
            summary.append("AUTH through Cyrus SASL (\(auth.sasldb.map { "sasldb \($0)" } ?? "libsasl2's configuration"))")
        } else {
            let path = String(backendSpec.dropFirst("passwd:".count))
            if createsFiles, isEmbeddedDefault, !FileSupport.exists(path) {
                do {
                    if let slash = path.lastIndex(of: "/") { try FileSupport.makeDirectories(String(path[..<slash]), mode: 0o700) }
                    try FileSupport.writeAtomically("# swiftmta auth add USER writes users here.\n", to: path, mode: 0o600)
                } catch {
                    errors.append(configuration.error("auth.backend", "\(error)"))
                    return nil
                }
            }
            let users: any SASLCredentialVerifier
            let count: Int
            do {
                if !createsFiles, isEmbeddedDefault, !FileSupport.exists(path) {
                    users = try SASLPasswordFile(contents: "", path: path)
                    count = 0
                    summary.append("\(path) will be made on first start")
                } else {
                    let file = try PasswordFileUsers(path: path, logger: logger)
                    users = file
                    count = file.count
                }
            } catch {
                errors.append(configuration.error("auth.backend", error.message))
                return nil
            }
            // DIGEST-MD5's digest-uri names the host as the client dialled it.
            let otherNames = ["localhost"] + configuration.listeners.map(\.host).filter { $0 != "0.0.0.0" && $0 != "::" }
            backend = SASLNativeServer(
                verifier: users, serverName: configuration.hostname, otherHostNames: Array(Set(otherNames)).sorted(),
                mechanisms: requested.isEmpty ? SASLNativeServer.allMechanisms : requested)
            let hint = count == 0 ? ": add one with swiftmta auth add USER; it is read again when it changes" : ""
            summary.append("AUTH users in \(path) (\(count) user\(count == 1 ? "" : "s")\(hint))")
        }
        for (index, mechanism) in requested.enumerated() where !backend.mechanisms.contains(mechanism) {
            errors.append(configuration.error("auth.mechanisms[\(index)]", "\(mechanism) is not available from this backend (it has \(backend.mechanisms.map(\.rawValue).joined(separator: " ")))"))
        }
        let options: SASLAuthOptions
        do {
            options = auth.options.isEmpty && auth.optionsAbsent ? [.noPlaintextWithoutTLS] : try SASLAuthOptions(sendmailFlags: auth.options.joined(separator: " "))
        } catch {
            errors.append(configuration.error("auth.options", error.message))
            return nil
        }
        let policy = SASLPolicy(
            mechanisms: requested, trustedMechanisms: Set(trustedMechanisms(available: backend.mechanisms).compactMap { SASLMechanismName($0) }),
            options: options)
        var damping = SASLFailureDamping.Configuration()
        damping.initialDelay = auth.failureDelay
        damping.maximumDelay = auth.maximumFailureDelay
        return ServerAuthentication(backend: backend, policy: policy, damping: damping)
    }

    // MARK: - The store

    /// Opens the durable spool `[queue] directory` names (recovering what it holds), or the
    /// error that names the key.
    func openStore() async -> Result<(store: QueueStore, summary: String), ConfigurationError> {
        let directory = configuration.queue.directory
        do {
            // The spool's own notices (opened, closed) are summed up in the start-up summary.
            var quiet = logger
            quiet.logLevel = max(logger.logLevel, .warning)
            let queue = try await MailQueue.open(directory: directory, logger: quiet)
            let held = queue.list().count
            let summary = "accepted mail is queued durably in \(directory) (\(held) message\(held == 1 ? "" : "s") held)"
            return .success((QueueStore(queue: queue), summary))
        } catch {
            return .failure(configuration.error("queue.directory", error.message))
        }
    }
}
