import Logging
import Metrics
import NIOCore
import SMTPProtocol
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftmta serve` as a daemon, from the configuration to the exit status:
///
/// 1. read and check the configuration; decide the account to run as (`[daemon] user`; as root
///    without one it refuses to start unless told `--allow-root`); check the permissions of the
///    keys, password files and spool (``PermissionCheck``);
/// 2. as whoever started it: read the keys, certificates, password files and maps, bind every
///    listener (ports below 1024 need root) and the metrics endpoint;
/// 3. switch to the configured user and group for good, then open the spool (its files belong to
///    that user);
/// 4. run the SMTP server and the metrics endpoint as a swift-service-lifecycle service group:
///    SIGTERM or SIGINT shut it down gracefully (no new connections, 421 4.3.2 at each open
///    session's next command, the grace period, then the queue runner is stopped — a delivery
///    in progress stays queued — and the spool is closed with every accepted message in it);
///    SIGHUP reloads the configuration and every map (``ConfigurationReload``) without dropping
///    a connection.
struct ServerDaemon {
    let configurationFile: String?
    let hostname: String?
    let allowRoot: Bool
    let logger: Logger

    /// The exit status: 0 after a shutdown; 64 bad arguments; 70 the server failed while running;
    /// 71 a listener could not be bound or the user could not be switched; 77 refused to run as
    /// root, or cannot switch users; 78 a configuration error (EX_CONFIG).
    func run() async -> Int32 {
        if let hostname, let problem = HostNameRule.problem(with: hostname) {
            ServerCommandLine.printError("swiftmta serve: --hostname: \(problem)")
            return 64
        }
        let configuration: SwiftMTAConfiguration
        switch Self.load(configurationFile, hostname: hostname) {
        case .success(let loaded): configuration = loaded
        case .failure(let failure):
            for line in failure.lines { ServerCommandLine.printError("swiftmta serve: \(line)") }
            return 78
        }
        // The embedded default (no file) is for trying SwiftMTA on loopback ports: as root it runs,
        // with a warning, rather than refusing a new user's first command. A configuration file
        // that names no [daemon] user is refused as root unless --allow-root.
        let embeddedAsRoot = configurationFile == nil && geteuid() == 0 && configuration.daemon.user == nil && !allowRoot
        if embeddedAsRoot {
            ServerCommandLine.printError(
                "swiftmta serve: warning: running as root: the embedded default is for trying SwiftMTA on loopback; a configuration with [daemon] user drops root once it is bound (--allow-root silences this)")
        }
        let identity: ProcessIdentity?
        switch ProcessIdentity.plan(configuration.daemon, allowRoot: allowRoot || embeddedAsRoot) {
        case .success(let planned): identity = planned
        case .failure(let problem):
            ServerCommandLine.printError("swiftmta serve: \(problem)")
            return 77
        }
        let findings = PermissionCheck(configuration: configuration, runAs: identity).run()
        for warning in findings.warnings { ServerCommandLine.printError("swiftmta serve: warning: \(warning)") }
        guard findings.errors.isEmpty else {
            for error in findings.errors { ServerCommandLine.printError("swiftmta serve: \(error)") }
            return 78
        }
        if let identity, let problem = Self.prepareSpool(configuration.queue.directory, for: identity) {
            ServerCommandLine.printError("swiftmta serve: \(configuration.error("queue.directory", problem))")
            return 78
        }

        // Metrics first: the maps' timers and the server's first counters are made from the
        // factory bootstrapped here (one made before would report nowhere).
        let exposition = configuration.daemon.metricsAddress.map { _ in MetricsExposition() }
        if let exposition { MetricsSystem.bootstrap(exposition) }
        let sampler = MetricsSampler(version: ServerCommandLine.version)

        let setup = ReferenceSetup(configuration: configuration, createsFiles: true, logger: logger)
        let (prepared, errors) = setup.prepare()
        guard let prepared, errors.isEmpty else {
            for error in errors { ServerCommandLine.printError("swiftmta serve: \(error)") }
            return 78
        }
        var summary = prepared.summary


        let server: SMTPServer
        do {
            server = try await SMTPServer.bind(configuration: prepared.server, backend: UnopenedStore.backend(prepared, logger: logger), logger: logger)
        } catch {
            ServerCommandLine.printError("swiftmta serve: \(error)")
            return 71
        }
        var endpoint: MetricsEndpoint?
        if let exposition, let (host, port) = configuration.daemon.metricsAddress {
            do {
                endpoint = try await MetricsEndpoint.bind(host: host, port: port, exposition: exposition, sampler: sampler, logger: logger)
            } catch {
                ServerCommandLine.printError("swiftmta serve: \(error)")
                await server.shutdown(gracePeriod: .zero)
                return 71
            }
        }

        if let identity {
            if case .failure(let problem) = identity.assume() {
                ServerCommandLine.printError("swiftmta serve: \(problem)")
                await server.shutdown(gracePeriod: .zero)
                return 71
            }
            summary.append("running as user \(identity.name) (uid \(identity.uid)), group \(identity.groupName) (gid \(identity.gid)) since the listeners are bound")
        } else if geteuid() == 0 {
            summary.append("running as root (--allow-root)")
        }

        let store: QueueStore
        switch await setup.openStore() {
        case .success(let opened):
            store = opened.store
            summary.append(opened.summary)
        case .failure(let error):
            ServerCommandLine.printError("swiftmta serve: \(error)")
            await server.shutdown(gracePeriod: .zero)
            return 78
        }
        // The queue runner and the control socket (made as the configured user), before the
        // first connection is served.
        let delivery: DeliveryService
        do {
            delivery = try await DeliveryService.start(queue: store.queue, delivery: prepared.delivery, logger: logger)
        } catch {
            ServerCommandLine.printError("swiftmta serve: \(error)")
            await server.shutdown(gracePeriod: .zero)
            await store.queue.close()
            return error.status
        }
        sampler.attach(queue: store.queue)
        // The backend over the open spool; nothing was accepted before (run() has not started).
        do {
            try server.reload(configuration: prepared.server, backend: prepared.backend(store: store.delivering(with: delivery.runner), logger: logger))
        } catch {
            ServerCommandLine.printError("swiftmta serve: \(error)")
            await server.shutdown(gracePeriod: .zero)
            await delivery.stop()
            return 70
        }

        // Signals are caught from here on (before "ready", so that none sent after it is lost),
        // and unblocked on this thread in case the process was started with them blocked.
        Self.unblock([SIGTERM, SIGINT, SIGHUP])
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)

        ServerCommandLine.printStartup(configuration: configuration, prepared: prepared, server: server, summary: summary)
        if let endpoint, let address = endpoint.localAddress {
            print("swiftmta: metrics on http://\(address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "127.0.0.1"):\(address.port ?? 0)/metrics")
        }
        print("swiftmta: \(configuration.hostname) ready; local domains localhost and \(configuration.hostname); relaying needs AUTH or an access RELAY entry; stop with Ctrl-C, reload with SIGHUP")
        fflush(nil)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let endpoint { services.append(.init(service: endpoint, successTerminationBehavior: .ignore)) }
        services.append(.init(service: SMTPServerService(server: server, logger: logger)))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        // A backstop: the server closes what is left after its grace period itself.
        groupConfiguration.maximumGracefulShutdownDuration = prepared.server.limits.shutdownGracePeriod + .seconds(30)
        let group = ServiceGroup(configuration: groupConfiguration)

        let reload = ConfigurationReload(
            configurationFile: configurationFile, hostname: hostname, running: configuration, identity: identity,
            server: server, store: store, delivery: delivery, logger: logger)
        let watcher = Task {
            for await signal in signals {
                if signal == .sighup {
                    await reload.reload()
                } else {
                    logger.notice("received \(signal == .sigterm ? "SIGTERM" : "SIGINT"): shutting down")
                    await group.triggerGracefulShutdown()
                }
            }
        }
        var status: Int32 = 0
        do {
            try await group.run()
        } catch {
            ServerCommandLine.printError("swiftmta serve: \(error)")
            status = 70
        }
        watcher.cancel()
        sampler.attach(queue: nil)
        // The runner stops (deliveries in progress stay queued), then the spool closes.
        await delivery.stop()
        logger.notice("stopped")
        return status
    }

    // MARK: - Steps

    struct LoadFailure: Error {
        let lines: [String]
    }

    /// The configuration from `file` (the embedded default when `nil`), checked, with the host name.
    static func load(_ file: String?, hostname: String?) -> Result<SwiftMTAConfiguration, LoadFailure> {
        let configuration: SwiftMTAConfiguration
        if let file {
            let (checked, errors) = SwiftMTAConfiguration.check(path: file, hostname: hostname)
            guard let checked, errors.isEmpty else { return .failure(LoadFailure(lines: errors.map(\.description))) }
            configuration = checked
        } else {
            do {
                configuration = try SwiftMTAConfiguration.embeddedDefault(hostname: hostname)
            } catch {
                return .failure(LoadFailure(lines: [error.description]))
            }
        }
        if hostname == nil, let problem = HostNameRule.problem(with: configuration.hostname) {
            return .failure(LoadFailure(lines: [
                "the system's host name cannot be used: \(problem); give one with --hostname or hostname = in the configuration",
            ]))
        }
        return .success(configuration)
    }

    /// Makes the spool folder for `identity` when it does not exist yet (as root: its parents
    /// stay as they are, the folder itself is the user's, mode 0700).
    static func prepareSpool(_ directory: String, for identity: ProcessIdentity) -> String? {
        guard !FileSupport.exists(directory) else { return nil }
        do {
            // The folders above it are left open to search (0755), as /var/spool is.
            if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
                try FileSupport.makeDirectories(String(directory[..<slash]), mode: 0o755)
            }
            try FileSupport.makeDirectories(directory, mode: 0o700)
        } catch {
            return "cannot make the spool \(directory): \(error)"
        }
        guard chown(directory, identity.uid, identity.gid) == 0 else {
            return "cannot give the spool \(directory) to \(identity.name): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

/// The SMTP server as a service of the group: graceful shutdown is RFC 5321 §3.8's (stop
/// accepting, 421 at each session's next command, the grace period).
struct SMTPServerService: Service, CustomStringConvertible {
    let server: SMTPServer
    let logger: Logger

    /// How swift-service-lifecycle's log lines name it (not a dump of every listener's channel).
    var description: String { "SMTPServer" }

    func run() async throws {
        let server = server
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            Task { await server.shutdown() }
        }
    }
}

/// Until the spool is open (after the switch to the configured user), the server is bound but not
/// running; its backend then refuses every message with a temporary failure. It is replaced
/// before the first connection is served.
enum UnopenedStore {
    static func backend(_ prepared: ReferenceSetup.Prepared, logger: Logger) -> PolicyBackend {
        prepared.backend(store: Unavailable(), logger: logger)
    }

    struct Unavailable: MessageStore {
        var logStatus: String { "not stored" }
        var summary: String { "no spool yet" }
        func acceptedReply(queueID: String) -> SMTPReply { .messageAccepted(queueID: queueID) }
        func beginMessage() async throws -> any MessageStoreWriter {
            throw SMTPRefusal(ServerReplies.localError)
        }
    }
}
