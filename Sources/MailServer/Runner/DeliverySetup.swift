import Logging
import MailMaps
import MailRouting
import MailTLS
import SMTPClient

/// What the reference server needs to run its queue runner, made from the configuration when it
/// is checked: the router and the maps' pool, the TLS policy map, the SMTP client's settings
/// (`[tls]` CAs and client certificate, `[dns]` nameservers).
struct DeliverySetup: Sendable {
    let router: Router
    let routingExecutor: any TaskExecutor
    let tlsPolicies: (any MailMap)?
    let configuration: QueueRunner.Configuration
    /// `[smtp] privacy` holds `authwarnings`: local submissions get Sendmail's warning headers.
    var authWarnings = true

    /// The setup for `configuration`; problems (a TLS policy map that cannot be opened) are added to `errors`.
    static func make(
        _ configuration: SwiftMTAConfiguration, registry: MailMapRegistry, router: Router, errors: inout [ConfigurationError]
    ) -> DeliverySetup {
        var tlsPolicies: (any MailMap)?
        if let spec = configuration.delivery.tlsPolicy {
            do {
                tlsPolicies = try registry.open(spec)
            } catch {
                errors.append(configuration.error("maps.tls_policy", error.message.contains(spec) ? error.message : "\(spec): \(error.message)"))
            }
        }
        var client = SMTPClientConfiguration(hostname: configuration.hostname)
        var tls = TLSConfiguration.client(caFile: configuration.tls.caFile, caDirectory: configuration.tls.caPath)
        tls.certificateChainFile = configuration.tls.clientCertificate
        tls.privateKeyFile = configuration.tls.clientKey
        client.tls = tls
        client.resolver = registry.resolver
        // RFC 5321 §5.1: never deliver to an MX record that is this host (class w).
        let hostname = configuration.hostname.lowercased()
        let localHostNames = router.tables.localHostNames
        client.isLocalHostName = { name in
            if name == hostname || name == "localhost" { return true }
            guard let localHostNames else { return false }
            return (try? await localHostNames.lookup(name)) != nil
        }
        let runnerConfiguration = QueueRunner.Configuration(
            hostname: configuration.hostname, queue: configuration.queue, delivery: configuration.delivery, client: client)
        var setup = DeliverySetup(router: router, routingExecutor: registry.threadPool, tlsPolicies: tlsPolicies, configuration: runnerConfiguration)
        setup.authWarnings = (try? PrivacyOptions(flags: configuration.smtp.privacy))?.contains(.authWarnings) ?? true
        return setup
    }

    /// For the start-up summary: where local mail goes and when delivery starts.
    var summary: String {
        let delivery = configuration.delivery
        let when = delivery.mode == .background ? "delivered as soon as it is queued" : "delivered at queue runs (delivery_mode = \"queue\")"
        return "local mail goes to \(delivery.mailDirectory)/USER (\(delivery.mailboxFormat)); mail is \(when)"
    }

    /// The runner over `queue`.
    func makeRunner(queue: MailQueue, clock: any QueueRunnerClock = SystemQueueClock(), logger: Logger) -> QueueRunner {
        QueueRunner(
            queue: queue, router: router, routingExecutor: routingExecutor, tlsPolicies: tlsPolicies, configuration: configuration,
            clock: clock, logger: logger)
    }
}
