import ArgumentParser
import Logging
import MailServer

@main
struct SwiftMTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftmta",
        abstract: "SwiftMTA, a mail transfer agent.",
        subcommands: [Serve.self, Route.self],
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

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Address test mode: how an address is routed, and why (like sendmail -bt /parse).")

    @Argument(help: "The recipient address (user@domain, <user@domain>, or a local name).")
    var address: String

    @Option(name: .long, help: "The envelope sender, for the relay verdict.")
    var sender: String?

    @Option(name: .long, help: "The client's IP address: also print the relay verdict.")
    var clientIP: String?

    @Option(name: .long, help: "The client's verified host name.")
    var clientHost: String?

    @Option(name: .long, help: "MECH:USER: the client authenticated so.")
    var auth: String?

    @Option(name: .long, help: "The configuration file (default: the embedded default).")
    var config: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        let request = RouteCommand.Request(
            address: address, sender: sender, clientAddress: clientIP, clientHost: clientHost,
            authentication: auth, configurationFile: config, json: json)
        let (output, status) = await RouteCommand.run(request)
        print(output, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}
