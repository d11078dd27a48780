public import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the `swiftmta` executable calls: each subcommand's work lives here, so the executable holds
/// nothing but argument parsing.
public enum ServerCommandLine {
    /// Logs to standard error at the level named `name` (`trace`, `debug`, `info`, `notice`,
    /// `warning`, `error`, `critical`) and above; `false`, and nothing set up, for any other name.
    /// Call once, first. (The executable passes its `--log-level` as given, so it needs no
    /// logging module of its own.)
    public static func bootstrapLogging(levelNamed name: String) -> Bool {
        guard let level = Logger.Level(rawValue: name) else { return false }
        bootstrapLogging(level: level)
        return true
    }

    /// Sends log lines to standard error at `level` and above. Call once, first.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// `swiftmta serve [--config FILE] [--hostname NAME]`: reads the configuration (the embedded
    /// default without a file), checks it, binds every listener, prints one line per listener and
    /// where its files are, and serves until SIGTERM or SIGINT, which shut it down gracefully
    /// (RFC 5321 §3.8: new connections refused, 421 at each session's next command, a grace
    /// period). Returns the exit status: 0 after a shutdown, 78 for a configuration error
    /// (EX_CONFIG), 71 when a listener cannot be bound (EX_OSERR). Errors go to standard error,
    /// one line each.
    public static func serve(configurationFile: String?, hostname: String?) async -> Int32 {
        let logger = Logger(label: "swiftmta")
        if let hostname, let problem = HostNameRule.problem(with: hostname) {
            printError("swiftmta serve: --hostname: \(problem)")
            return 64
        }
        let configuration: SwiftMTAConfiguration
        if let configurationFile {
            let (checked, errors) = SwiftMTAConfiguration.check(path: configurationFile, hostname: hostname)
            guard let checked, errors.isEmpty else {
                for error in errors { printError("swiftmta serve: \(error)") }
                return 78
            }
            configuration = checked
        } else {
            do {
                configuration = try SwiftMTAConfiguration.embeddedDefault(hostname: hostname)
            } catch {
                printError("swiftmta serve: \(error)")
                return 78
            }
        }
        if hostname == nil, let problem = HostNameRule.problem(with: configuration.hostname) {
            printError("swiftmta serve: the system's host name cannot be used: \(problem); give one with --hostname or hostname = in the configuration")
            return 78
        }
        let setup = ReferenceSetup(configuration: configuration, createsFiles: true, logger: logger)
        let (prepared, errors) = setup.prepare()
        guard let prepared, errors.isEmpty else {
            for error in errors { printError("swiftmta serve: \(error)") }
            return 78
        }
        var summary = prepared.summary
        let store: QueueStore
        switch await setup.openStore() {
        case .success(let opened):
            store = opened.store
            summary.append(opened.summary)
        case .failure(let error):
            printError("swiftmta serve: \(error)")
            return 78
        }
        // The queue runner and the control socket, before the first connection is accepted.
        let delivery: DeliveryService
        do {
            delivery = try await DeliveryService.start(queue: store.queue, delivery: prepared.delivery, logger: logger)
        } catch {
            printError("swiftmta serve: \(error)")
            await store.queue.close()
            return error.status
        }
        let server: SMTPServer
        do {
            server = try await SMTPServer.bind(
                configuration: prepared.server, backend: prepared.backend(store: store.delivering(with: delivery.runner), logger: logger),
                logger: logger)
        } catch {
            printError("swiftmta serve: \(error)")
            await delivery.stop()
            return 71
        }
        if configuration.file == SwiftMTAConfiguration.embeddedDefaultName {
            print("swiftmta: no --config: the embedded default, with its files in \(configuration.directory)/var")
        } else {
            print("swiftmta: configuration \(configuration.file)")
        }
        for line in summary { print("swiftmta: \(line)") }
        for (listener, address) in zip(prepared.server.listeners, server.localAddresses) {
            var features: [String] = []
            if listener.mode == .smtps {
                features.append("implicit TLS")
            } else if prepared.server.tls != nil, listener.mode != .lmtp {
                features.append("STARTTLS")
            }
            if prepared.server.authentication != nil { features.append(listener.mode.requiresAuthentication ? "AUTH required" : "AUTH") }
            let extra = features.isEmpty ? "" : ", " + features.joined(separator: ", ")
            print("swiftmta: listening on \(address.ipAddress ?? listener.host) port \(address.port ?? listener.port) (\(listener.mode)\(extra))")
        }
        print("swiftmta: \(configuration.hostname) ready; local domains localhost and \(configuration.hostname); relaying needs AUTH or an access RELAY entry; stop with Ctrl-C")
        fflush(nil)

        let watcher = SignalWatcher.shared
        let stopper = Task {
            guard let signal = await watcher.next() else { return }
            logger.notice("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): shutting down")
            await server.shutdown()
        }
        do {
            try await server.run()
        } catch {
            printError("swiftmta serve: \(error)")
            stopper.cancel()
            await delivery.stop()
            return 70
        }
        stopper.cancel()
        await delivery.stop()
        logger.notice("stopped")
        return 0
    }

    /// `swiftmta check-config [FILE]`: every error of the configuration (the file's and those found
    /// opening its maps, certificates and password files), one per line; or what it would run.
    /// Returns the output and the exit status (0 valid, 78 errors).
    public static func checkConfiguration(file: String?) -> (output: String, status: Int32) {
        let logger = Logger(label: "swiftmta")
        let configuration: SwiftMTAConfiguration
        var errors: [ConfigurationError]
        if let file {
            let (checked, found) = SwiftMTAConfiguration.check(path: file)
            errors = found
            guard let checked else { return (errors.map { "\($0)\n" }.joined(), 78) }
            configuration = checked
        } else {
            do {
                configuration = try SwiftMTAConfiguration.embeddedDefault()
            } catch {
                return ("\(error)\n", 78)
            }
            errors = []
        }
        let (prepared, found) = ReferenceSetup(configuration: configuration, createsFiles: false, logger: logger).prepare()
        errors += found
        guard errors.isEmpty, let prepared else {
            return (errors.map { "\($0)\n" }.joined() + "\(errors.count) error\(errors.count == 1 ? "" : "s")\n", 78)
        }
        var lines = ["\(configuration.file): OK", "host name \(configuration.hostname)"]
        for listener in prepared.server.listeners {
            lines.append("listen \(SMTPServer.describe(listener)) (\(listener.mode), at most \(listener.maximumConnections) connections, \(listener.maximumConnectionsPerClient) per client)")
        }
        lines += prepared.summary
        return (lines.joined(separator: "\n") + "\n", 0)
    }

    /// The host's name as the system reports it (`gethostname(2)`), or `localhost`.
    public static func localHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Writes one line to standard error.
    public static func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}
