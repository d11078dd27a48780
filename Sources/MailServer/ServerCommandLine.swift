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

    /// `swiftmta serve` with no configuration file: binds the embedded default's loopback
    /// listeners, prints one line per listener to standard output, and serves until the task is
    /// cancelled or the process is stopped.
    public static func serveEmbeddedDefault(hostname: String? = nil) async throws {
        let logger = Logger(label: "swiftmta")
        let configuration = ServerConfiguration.embeddedDefault(hostname: hostname ?? localHostname())
        let server = try await SMTPServer.bind(configuration: configuration, logger: logger)
        for (listener, address) in zip(configuration.listeners, server.localAddresses) {
            print("swiftmta: listening on \(address.ipAddress ?? listener.host) port \(address.port ?? listener.port) (\(listener.mode))")
        }
        print("swiftmta: \(configuration.hostname) ready; stop with Ctrl-C")
        fflush(nil)
        try await server.run()
    }

    /// The host's name as the system reports it (`gethostname(2)`), or `localhost`.
    public static func localHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
