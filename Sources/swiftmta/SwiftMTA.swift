import ArgumentParser
import MailServer

@main
struct SwiftMTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftmta",
        abstract: "SwiftMTA, a mail transfer agent.",
        subcommands: [Serve.self, Route.self, Makemap.self, Map.self],
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
        guard ServerCommandLine.bootstrapLogging(levelNamed: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
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

struct Makemap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a Berkeley DB map from `key value` lines on standard input, as Sendmail's makemap does.",
        discussion: "FILE.db is written (unless FILE ends in .db) and replaces the old map atomically. Exit status: 0 done, 65 bad input or duplicate keys, 73 the file could not be written.")

    @Flag(name: .customShort("f"), help: "Do not fold keys to lower case.")
    var keepCase = false

    @Flag(name: .customShort("N"), help: "Store keys and values with a trailing NUL byte (Postfix's convention).")
    var includeNUL = false

    @Flag(name: .customShort("o"), help: "Add to the existing map instead of replacing it.")
    var append = false

    @Flag(name: .customShort("r"), help: "A later entry for a key replaces the earlier one.")
    var replace = false

    @Option(name: .customShort("t"), help: ArgumentHelp("The character that ends a key (default: white space).", valueName: "char"))
    var delimiter: String?

    @Argument(help: "The map type: hash or btree.")
    var type: String

    @Argument(help: "The map file (FILE.db is written).")
    var file: String

    func validate() throws {
        if let delimiter, delimiter.count != 1 {
            throw ValidationError("-t takes one character, not '\(delimiter)'")
        }
    }

    func run() async throws {
        var flags = MapCommands.MakemapFlags()
        flags.keepsCase = keepCase
        flags.includesNUL = includeNUL
        flags.appends = append
        flags.replacesDuplicates = replace
        flags.delimiter = delimiter?.first
        let status = MapCommands.makemap(type: type, file: file, flags: flags)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Map: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query or list a map given by its type:name spec.",
        subcommands: [Query.self, Dump.self])

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the value of KEY in the map SPEC.",
            discussion: "Exit status: 0 found (the value is printed), 1 not found, 2 the map could not be opened or read (the reason is printed on standard error).")

        @Option(name: .long, help: "A nameserver for dns: maps (address or address:port; repeatable).")
        var nameserver: [String] = []

        @Argument(help: "The map spec, like hash:/etc/mail/access.")
        var spec: String

        @Argument(help: "The key to look up.")
        var key: String

        func run() async throws {
            let status = await MapCommands.query(spec: spec, key: key, nameservers: nameserver)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every entry of the map SPEC as key<TAB>value.",
            discussion: "Exit status: 0 done, 2 the map could not be opened, read, or listed (LDAP and DNS maps cannot be).")

        @Option(name: .long, help: "A nameserver for dns: maps (address or address:port; repeatable).")
        var nameserver: [String] = []

        @Argument(help: "The map spec, like hash:/etc/mail/access.")
        var spec: String

        func run() async throws {
            let status = await MapCommands.dump(spec: spec, nameservers: nameserver)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
