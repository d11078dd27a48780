import Logging
import MailMaps
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `swiftmta queue` and `swiftmta sendmail` work with: the configuration (the file given, or
/// `SWIFTMTA_CONFIG`, or `/etc/swiftmta/swiftmta.toml` when it exists, or the embedded default in the
/// working directory), and — when no server holds the spool — the spool itself with a runner.
struct QueueContext {
    let configuration: SwiftMTAConfiguration

    /// Why the configuration or the spool cannot be used, as one line.
    struct ContextError: Error, CustomStringConvertible {
        let description: String
    }

    /// The installed configuration file, used when none is given.
    static let installedConfiguration = "/etc/swiftmta/swiftmta.toml"

    /// The configuration to use; an error line when it cannot be read.
    static func load(file: String?) -> Result<QueueContext, ContextError> {
        var path = file
        if path == nil, let environment = getenv("SWIFTMTA_CONFIG") { path = String(cString: environment) }
        if path == nil, access(installedConfiguration, R_OK) == 0 { path = installedConfiguration }
        if let path {
            let (configuration, errors) = SwiftMTAConfiguration.check(path: path)
            guard let configuration, errors.isEmpty else { return .failure(ContextError(description: errors.map(\.description).joined(separator: "\n"))) }
            return .success(QueueContext(configuration: configuration))
        }
        do {
            return .success(QueueContext(configuration: try SwiftMTAConfiguration.embeddedDefault()))
        } catch {
            return .failure(ContextError(description: error.description))
        }
    }

    var spoolDirectory: String { configuration.queue.directory }

    /// The spool opened by this process (no server has it), with a runner for queue runs. Call
    /// ``Direct/close()`` when done.
    struct Direct {
        let queue: MailQueue
        let runner: QueueRunner

        func close() async {
            await runner.shutdown()
            await queue.close()
        }
    }

    /// Opens the spool and makes a runner over it.
    func openDirect(logger: Logger) async -> Result<Direct, ContextError> {
        let registry: MailMapRegistry
        do {
            registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
        } catch {
            return .failure(ContextError(description: "dns.nameservers: \(error.message)"))
        }
        let router: MailRouting.Router
        do {
            router = try RoutingSetup.router(for: configuration, registry: registry)
        } catch {
            return .failure(ContextError(description: "maps: \(error.message)"))
        }
        var errors: [ConfigurationError] = []
        let delivery = DeliverySetup.make(configuration, registry: registry, router: router, errors: &errors)
        if let first = errors.first { return .failure(ContextError(description: first.description)) }
        let queue: MailQueue
        do {
            queue = try await MailQueue.open(directory: spoolDirectory, logger: logger)
        } catch {
            return .failure(ContextError(description: error.kind == .spoolInUse
                ? "\(error); its server's control socket \(spoolDirectory)/\(QueueControl.socketName) does not answer"
                : "\(error)"))
        }
        return .success(Direct(queue: queue, runner: delivery.makeRunner(queue: queue, logger: logger)))
    }
}

import MailRouting
