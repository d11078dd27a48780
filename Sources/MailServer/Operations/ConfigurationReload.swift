import Logging
import MailSystem
import Metrics

/// SIGHUP: the configuration file and every map it names read again, and the server's
/// configuration and backend replaced for the connections that come next — open sessions finish
/// with the ones they started with, and no connection is dropped.
///
/// A new configuration that does not do is refused as a whole, with every reason logged, and the
/// old one goes on serving: an error in the file (as check-config reports it), a map, certificate
/// or password file that cannot be read now (the server may run as an unprivileged user since
/// start), a key or password file with unsafe permissions, or a change that only a restart can
/// make — the listeners, the spool, the queue runner's settings, the `[daemon]` settings. The
/// queue runner's maps are replaced too: attempts that start after the reload use them.
final class ConfigurationReload: Sendable {
    let configurationFile: String?
    let hostname: String?
    let running: SwiftMTAConfiguration
    let identity: ProcessIdentity?
    let server: SMTPServer
    let store: QueueStore
    let delivery: DeliveryService
    let logger: Logger

    init(
        configurationFile: String?, hostname: String?, running: SwiftMTAConfiguration, identity: ProcessIdentity?,
        server: SMTPServer, store: QueueStore, delivery: DeliveryService, logger: Logger
    ) {
        self.configurationFile = configurationFile
        self.hostname = hostname
        self.running = running
        self.identity = identity
        self.server = server
        self.store = store
        self.delivery = delivery
        self.logger = logger
    }

    /// Reloads, or logs why not; returns the reasons for a refusal (empty: applied).
    @discardableResult
    func reload() async -> [String] {
        let name = configurationFile ?? SwiftMTAConfiguration.embeddedDefaultName
        logger.notice("received SIGHUP: reloading \(name)")
        // The file, the maps and the certificates are read on a thread of its own: reading may
        // block (a Berkeley DB file, an LDAP server), which no event loop or cooperative thread may.
        let reasons: [String]
        do {
            reasons = try await Self.pool.run(deadline: .seconds(600)) { self.attempt() }
        } catch {
            reasons = ["\(error)"]
        }
        if reasons.isEmpty {
            Counter(label: MetricsCatalogue.reloads, dimensions: [("result", "applied")]).increment()
            logger.notice("reloaded \(name): new connections get the new configuration and maps; open sessions finish with the old ones")
        } else {
            Counter(label: MetricsCatalogue.reloads, dimensions: [("result", "refused")]).increment()
            for reason in reasons { logger.error("reload refused: \(reason)") }
            logger.error("reload refused (\(reasons.count) error\(reasons.count == 1 ? "" : "s")): the configuration in use goes on serving")
        }
        return reasons
    }

    /// One thread for reloads, which come one at a time.
    private static let pool = WorkerPool(.init(name: "reload", threads: 1, queueLimit: 4, deadline: .seconds(600)))

    private func attempt() -> [String] {
        let configuration: SwiftMTAConfiguration
        switch ServerDaemon.load(configurationFile, hostname: hostname) {
        case .success(let loaded): configuration = loaded
        case .failure(let failure): return failure.lines
        }
        var reasons: [String] = []
        if configuration.queue.directory != running.queue.directory {
            reasons.append(configuration.error("queue.directory", "changed from \(running.queue.directory) to \(configuration.queue.directory): the spool changes only with a restart").description)
        }
        var runnerSettings = configuration.delivery
        runnerSettings.tlsPolicy = running.delivery.tlsPolicy
        if runnerSettings != running.delivery || configuration.queue != running.queue {
            reasons.append(configuration.error("queue", "the queue runner's settings ([queue], [local]) changed: they change only with a restart (its maps, tls_policy included, are reloaded)").description)
        }
        if configuration.daemon != running.daemon {
            reasons.append(configuration.error("daemon", "[daemon] changed: the user, the group and the metrics endpoint change only with a restart").description)
        }
        if configuration.listeners != running.listeners {
            reasons.append(configuration.error("listen", "the [[listen]] entries changed: listeners are bound once, at start (perhaps as root); they change only with a restart").description)
        }
        let findings = PermissionCheck(configuration: configuration, runAs: identity).run()
        reasons += findings.errors.map(\.description)
        for warning in findings.warnings { logger.warning("\(warning)") }
        guard reasons.isEmpty else { return reasons }

        let (prepared, errors) = ReferenceSetup(configuration: configuration, createsFiles: true, logger: logger).prepare()
        guard let prepared, errors.isEmpty else { return errors.map(\.description) }
        do {
            try server.reload(configuration: prepared.server, backend: prepared.backend(store: store.delivering(with: delivery.runner), logger: logger))
        } catch {
            return [error.description]
        }
        // Retries route with the new maps too.
        delivery.runner.reload(prepared.delivery)
        for line in prepared.summary { logger.info("reload: \(line)") }
        return []
    }
}
