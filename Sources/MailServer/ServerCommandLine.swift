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

    /// `swiftmta serve [--config FILE] [--hostname NAME] [--allow-root]`: reads the configuration
    /// (the embedded default without a file), checks it and the permissions of its keys, password
    /// files and spool, binds every listener, switches to `[daemon] user` (refusing to run as root
    /// without one unless `allowRoot`), prints one line per listener and where its files are, and
    /// serves until SIGTERM or SIGINT, which shut it down gracefully (RFC 5321 §3.8: new
    /// connections refused, 421 at each session's next command, a grace period); SIGHUP reloads
    /// the configuration and every map. Returns the exit status: 0 after a shutdown, 64 bad
    /// arguments, 70 a failure while running, 71 when a listener cannot be bound or the user
    /// cannot be switched (EX_OSERR), 77 refused to run as root (EX_NOPERM), 78 a configuration
    /// error (EX_CONFIG). Errors go to standard error, one line each.
    public static func serve(configurationFile: String?, hostname: String?, allowRoot: Bool = false) async -> Int32 {
        await ServerDaemon(configurationFile: configurationFile, hostname: hostname, allowRoot: allowRoot, logger: Logger(label: "swiftmta")).run()
    }

    /// The start-up lines: the configuration, its summary, one line per listener.
    static func printStartup(configuration: SwiftMTAConfiguration, prepared: ReferenceSetup.Prepared, server: SMTPServer, summary: [String]) {
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
        let permissions = PermissionCheck(configuration: configuration, runAs: ProcessIdentity.configured(configuration.daemon)).run()
        errors += permissions.errors
        guard errors.isEmpty, let prepared else {
            return (errors.map { "\($0)\n" }.joined() + "\(errors.count) error\(errors.count == 1 ? "" : "s")\n", 78)
        }
        var lines = ["\(configuration.file): OK", "host name \(configuration.hostname)"]
        for listener in prepared.server.listeners {
            lines.append("listen \(SMTPServer.describe(listener)) (\(listener.mode), at most \(listener.maximumConnections) connections, \(listener.maximumConnectionsPerClient) per client)")
        }
        lines += prepared.summary
        lines += ServerCommandLine.daemonSummary(configuration.daemon)
        lines += permissions.warnings.map { "warning: \($0)" }
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
