import ArgumentParser
import Logging
import MailServer

@main
struct SwiftMTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftmta",
        abstract: "SwiftMTA, a mail transfer agent.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (with no configuration file: loopback listeners on ports 2525 and 2587).")

    @Option(name: .long, help: "The host name to announce (default: the system's host name).")
    var hostname: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        ServerCommandLine.bootstrapLogging(level: level)
        try await ServerCommandLine.serveEmbeddedDefault(hostname: hostname)
    }
}
