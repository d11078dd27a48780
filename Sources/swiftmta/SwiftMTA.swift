import ArgumentParser
import Logging
import MailServer

@main
struct SwiftMTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftmta",
        abstract: "SwiftMTA, a mail transfer agent.",
        subcommands: [Serve.self, Auth.self, CheckConfig.self, Route.self, Makemap.self, Map.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: """
            Without --config: the embedded default, on loopback only (smtp 127.0.0.1:2525, submission 2587, \
            smtps 2465), with its files under ./var (a self-signed certificate made on first start in var/tls, \
            AUTH users in var/auth/passwd). SIGTERM or Ctrl-C shut it down gracefully. Exit status: 0 after a \
            shutdown, 64 bad arguments, 71 a listener could not be bound, 78 a configuration error.
            """)

    @Option(name: .long, help: "The configuration file (TOML; see docs/configuration.md).")
    var config: String?

    @Option(name: .long, help: "The host name to announce (default: hostname in the file, or the system's).")
    var hostname: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        ServerCommandLine.bootstrapLogging(level: level)
        let status = await ServerCommandLine.serve(configurationFile: config, hostname: hostname)
        if status != 0 { throw ExitCode(status) }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration: print every error (file, line, key), or what it would run.",
        discussion: "Opens the maps, certificates and password files it names. Exit status: 0 valid, 78 errors.")

    @Argument(help: "The configuration file (default: the embedded default).")
    var file: String?

    func run() async throws {
        let (output, status) = ServerCommandLine.checkConfiguration(file: file)
        print(output, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}

struct Auth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the users of an AUTH password file (what saslpasswd2 is to Sendmail).",
        subcommands: [Add.self, List.self, Remove.self])

    struct FileOptions: ParsableArguments {
        @Option(name: .long, help: "The password file (default: the passwd: backend of --config, or ./var/auth/passwd).")
        var file: String?

        @Option(name: .long, help: "The configuration whose [auth] backend names the file.")
        var config: String?

        func path() throws -> String {
            switch AuthCommand.passwordFile(file: file, configurationFile: config) {
            case .success(let path): return path
            case .failure(let error): throw ValidationError(error.description)
            }
        }
    }

    static func finish(_ result: Result<String, AuthCommand.CommandError>) throws {
        switch result {
        case .success(let text): print(text)
        case .failure(let error):
            ServerCommandLine.printError("swiftmta auth: \(error)")
            throw ExitCode(1)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user (or set its password), reading the password on standard input.",
            discussion: "Stores a SCRAM-SHA-256 verifier, which serves PLAIN, LOGIN and SCRAM-SHA-256.")

        @OptionGroup var options: FileOptions

        @Flag(name: .long, help: "Also store the password itself, which CRAM-MD5 and DIGEST-MD5 need (readable by whoever can read the file).")
        var storePlaintext = false

        @Argument(help: "The user name.")
        var user: String

        func run() async throws {
            let path = try options.path()
            if storePlaintext {
                ServerCommandLine.printError("swiftmta auth: warning: the password of \(user) is stored in plaintext in \(path), for CRAM-MD5 and DIGEST-MD5")
            }
            let password: String
            switch AuthCommand.readPassword(prompt: "password for \(user): ") {
            case .success(let text): password = text
            case .failure(let error):
                ServerCommandLine.printError("swiftmta auth: \(error)")
                throw ExitCode(1)
            }
            try Auth.finish(AuthCommand.add(user: user, password: password, file: path, storePlaintext: storePlaintext))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users and their kinds of credential (never a credential).")

        @OptionGroup var options: FileOptions

        func run() async throws {
            try Auth.finish(AuthCommand.list(file: try options.path()))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user.")

        @OptionGroup var options: FileOptions

        @Argument(help: "The user name.")
        var user: String

        func run() async throws {
            try Auth.finish(AuthCommand.remove(user: user, file: try options.path()))
        }
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
