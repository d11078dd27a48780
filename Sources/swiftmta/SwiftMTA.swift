import ArgumentParser
import MailServer
#if canImport(Glibc)
import Glibc
#endif

@main
struct SwiftMTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftmta",
        abstract: "SwiftMTA, a mail transfer agent.",
        version: ServerCommandLine.version,
        subcommands: [Serve.self, Auth.self, CheckConfig.self, Check.self, Route.self, Makemap.self, Map.self, Send.self, Queue.self, Sendmail.self, ImportMC.self],
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

    @Flag(name: .long, help: "Run as root when the configuration names no [daemon] user (refused otherwise).")
    var allowRoot = false

    func run() async throws {
        guard ServerCommandLine.bootstrapLogging(levelNamed: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let status = await ServerCommandLine.serve(configurationFile: config, hostname: hostname, allowRoot: allowRoot)
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
        abstract: "Address test mode: how an address is routed, and why (like sendmail -bt /parse and -bv).",
        discussion: """
            Prints the (mailer, host, user) triple as sendmail -bt /parse does, every lookup that \
            decided it, and one verify: line per final address as sendmail -bv does (aliases \
            expanded, local users checked). With --client-ip (or --local for a local submission) it \
            also prints the answers an SMTP client would get at MAIL and RCPT (mail:, rcpt:, and the \
            final verdict:), from the same code the server runs.

            ADDRESS may be written as an administrator or a To: header writes it: \
            "Amy Tebbe <amy@tebbe.org>", amy@tebbe.org (Amy), <<amy@tebbe.org>>, amy@tebbe.org., \
            host!user, user%host, or a bare local name.

            Exit status: 0 deliverable (and accepted at MAIL and RCPT when a client is given); \
            1 refused (the address does not parse, routing or verify refuses it, or the client \
            would be refused at MAIL or RCPT, for now or for good); 2 the configuration cannot be \
            used; 64 the options are wrong (--auth not MECH:USER or an unknown mechanism, \
            --client-ip not an address, --sender, --client-host, --client-resolve or --auth without \
            a client).
            """)

    @Argument(help: "The recipient address (user@domain, \"Name <user@domain>\", or a local name).")
    var address: String

    @Option(name: .long, help: "The envelope sender, for the MAIL and RCPT answers (needs --client-ip or --local).")
    var sender: String?

    @Option(name: .long, help: "The client's IP address: also print the MAIL and RCPT answers.")
    var clientIP: String?

    @Option(name: .long, help: "The client's verified host name (needs --client-ip).")
    var clientHost: String?

    @Option(name: .long, help: "How the client's name was found: ok, fail, forged or temp (Sendmail's ${client_resolve}; default ok with --client-host, fail without).")
    var clientResolve: String?

    @Option(name: .long, help: "MECH:USER: the client authenticated so (needs --client-ip).")
    var auth: String?

    @Flag(name: .long, help: "Answer as for a local submission (no client: sendmail -bs, the sendmail command line).")
    var local = false

    @Option(name: .long, help: "The configuration file (default: the embedded default).")
    var config: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    var request: RouteCommand.Request {
        RouteCommand.Request(
            address: address, sender: sender, clientAddress: clientIP, clientHost: clientHost,
            clientResolve: clientResolve, authentication: auth, localSubmission: local,
            configurationFile: config, json: json)
    }

    func validate() throws {
        if let problem = request.problem { throw ValidationError(problem) }
    }

    func run() async throws {
        let (output, status) = await RouteCommand.run(request)
        print(output, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}

struct Makemap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a Berkeley DB map from `key value` lines on standard input, as Sendmail's makemap does.",
        discussion: """
            FILE.db is written (unless FILE ends in .db) and replaces the old map atomically.

            Input is read as Sendmail's makemap reads it: blank lines and lines starting with # are \
            skipped; the key ends at the first white space (or at the -t character); a line that \
            starts with white space is a syntax error, not a continuation; a key without a value is \
            an error. Bad lines are reported with their numbers and skipped, and the good lines are \
            still written. With --postmap-input it is read as Postfix's postmap reads it instead: a \
            line that starts with white space continues the entry above it, and any bad line leaves \
            the old map as it was.

            Exit status: 0 done; 64 bad arguments (an unknown map type); 65 bad input lines or \
            duplicate keys (the map was written with the good lines, the first of each key); 73 the \
            file could not be written.

            The map it writes is read back as hash:FILE or btree:FILE (see `swiftmta map --help` \
            for the spec flags); write it with -N for Postfix's keys-with-NUL convention.
            """)

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

    @Flag(name: .long, help: "Read the input as Postfix's postmap does: a line starting with white space continues the entry above.")
    var postmapInput = false

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
        flags.postmapInput = postmapInput
        let status = MapCommands.makemap(type: type, file: file, flags: flags)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Map: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query or list a map given by its type:name spec.",
        discussion: """
            A spec is type:name, with Sendmail's K-line flags before the name \
            (hash:-o /etc/mail/virtusertable for Kvirtuser hash -o /etc/mail/virtusertable):

              text:PATH, aliases:PATH, list:PATH   -o  optional: a missing file is an empty map
                                                   -f  keep the case of keys (no folding)
              hash:PATH, btree:PATH (PATH.db)      -o, -f as above
                                                   -N  keys end in a NUL byte (postmap's way)
                                                   -O  keys have no NUL (makemap's way)
                                                   (neither: both are tried, NUL first)
              dns:-R TYPE                          -R A|AAAA|MX|TXT|TLSA|DNSBL, -B zone,
                                                   -z delimiter between records,
                                                   -T<TMPF> taken (a failure is temporary anyway)
              ldap:-H URI -b BASE -k FILTER -v ATTRS   Sendmail's ldap map flags
              passwd:                              the system's accounts; no flags
              inline:{ k=v, ... }, sequence:{ spec, spec }   no flags

            Sendmail flags SwiftMTA does not take, and why: -m (match only: use the key's \
            existence), -T<TMPF> on file maps (a lookup failure is always a temporary failure), \
            -a, -q, -A, -k, -v and -z on file maps (values are returned as written). A spec with a \
            flag its type does not take is an error naming the flag.
            """,
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

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one message, read from standard input, to a server (the SMTP client).",
        discussion: """
            The message is sent as it is (line ends become CRLF). Exit status: 0 every recipient \
            accepted; 75 a recipient failed for now (or the attempt did: no connection, a timeout); \
            69 recipients were refused for good; 64 bad arguments; 66 the password file cannot be \
            read. Each refused recipient is printed on standard error with the server's reply.
            """)

    @Option(name: .long, help: "The envelope sender (<> or \"\" for none).")
    var from: String

    @Option(name: .long, help: "A recipient (repeatable).")
    var to: [String]

    @Option(name: .long, help: "HOST[:PORT], [HOST]:PORT or an address (default port 25, 465 with --tls).")
    var server: String?

    @Flag(name: .long, help: "Look the server up by its MX records (without --server: the recipients' domain).")
    var mx = false

    @Flag(name: .long, help: "STARTTLS, or no mail; the certificate must name the server.")
    var starttls = false

    @Flag(name: .long, help: "TLS from the first byte (port 465, RFC 8314).")
    var tls = false

    @Flag(name: .customLong("no-tls"), help: "Never TLS (default: STARTTLS when offered).")
    var noTLS = false

    @Flag(name: .customLong("no-verify"), help: "With --starttls or --tls: encrypt without checking the certificate.")
    var noVerify = false

    @Option(name: .customLong("ca-file"), help: "A PEM file of CAs to trust instead of the system's.")
    var caFile: String?

    @Option(name: .customLong("auth-user"), help: "Authenticate as this user (needs --password-file).")
    var authUser: String?

    @Option(name: .customLong("password-file"), help: "A file whose first line is the password.")
    var passwordFile: String?

    @Option(name: .customLong("auth-mechanism"), help: "The SASL mechanism (default: the strongest both sides have).")
    var authMechanism: String?

    @Flag(name: .customLong("allow-plaintext-auth"), help: "Allow PLAIN and LOGIN without TLS.")
    var allowPlaintextAuth = false

    @Option(name: .long, help: "The name to send with EHLO (default: the system's host name).")
    var helo: String?

    @Flag(name: .long, help: "Speak LMTP (RFC 2033; default port 24).")
    var lmtp = false

    @Option(name: .long, help: "Seconds each stage may take (default: RFC 5321's minutes).")
    var timeout: Int?

    @Option(name: .long, help: "A nameserver for MX and address lookups (address or address:port; repeatable).")
    var nameserver: [String] = []

    @Flag(name: .shortAndLong, help: "Print the server, the TLS session and each recipient's reply.")
    var verbose = false

    func validate() throws {
        if [starttls, tls, noTLS].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --starttls, --tls, --no-tls")
        }
    }

    func run() async throws {
        let mode: SendCommand.TLSMode = starttls ? .startTLS : tls ? .implicit : noTLS ? .none : .opportunistic
        let request = SendCommand.Request(
            from: from, to: to, server: server, mx: mx, tls: mode, noVerify: noVerify, caFile: caFile, authUser: authUser,
            passwordFile: passwordFile, authMechanism: authMechanism, allowPlaintextAuth: allowPlaintextAuth, hostname: helo,
            lmtp: lmtp, timeout: timeout, nameservers: nameserver, verbose: verbose)
        let status = await SendCommand.runFromCommandLine(request)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look at and work the mail queue: list (mailq), show ID, run [-v], flush, deliver ID, remove ID.",
        discussion: """
            list prints every queued message as mailq does; show ID (or all) its envelope, the state of \
            each recipient and its text; run attempts the recipients whose retry time has come \
            (sendmail -q), flush every recipient not yet delivered (sendmail -qf), deliver ID one \
            message, now; -v prints each SMTP dialogue as sendmail -q -v does. remove ID drops a \
            message without delivering it.

            While swiftmta serve runs, the command asks it over the spool's control socket \
            (SPOOL/control; only root and the server's own user may); otherwise it opens the spool \
            itself. The configuration is --config FILE, or $SWIFTMTA_CONFIG, or \
            /etc/swiftmta/swiftmta.toml when it exists, or the embedded default (./var/spool).

            Exit status (sysexits): 0 done, 64 bad arguments, 66 no such message, 75 the spool \
            cannot be reached, 77 not allowed, 78 a configuration error.
            """)

    @Argument(help: "list, show, run, flush, deliver or remove.")
    var action: String

    @Argument(help: "The queue id (show, deliver, remove; show also takes all).")
    var id: String?

    @Option(name: .long, help: "The configuration file.")
    var config: String?

    @Flag(name: .shortAndLong, help: "With run, flush and deliver: show each SMTP dialogue.")
    var verbose = false

    @Flag(name: .long, help: "With list and show: print JSON.")
    var json = false

    func run() async throws {
        let chosen: QueueCommandLine.Action
        switch (action, id) {
        case ("list", nil): chosen = .list
        case ("run", nil): chosen = .run
        case ("flush", nil): chosen = .flush
        case ("show", let id?): chosen = .show(id)
        case ("deliver", let id?): chosen = .deliver(id)
        case ("remove", let id?): chosen = .remove(id)
        default: throw ValidationError("use list, show ID, run, flush, deliver ID or remove ID")
        }
        let status = await QueueCommandLine.run(chosen, configurationFile: config, json: json, verbose: verbose)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Sendmail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The /usr/sbin/sendmail interface: queue a message read from standard input (also as a link named sendmail or mailq).",
        discussion: """
            Options as Sendmail's: -t (recipients from To:, Cc:, Bcc:; Bcc: removed), -i or -oi (a line \
            with a single dot does not end the message), -f or -r ADDRESS (envelope sender), -F NAME \
            (the From: name), -bm (the default: queue a message), -bs (SMTP on standard input and \
            output), -bv ADDRESS (verify), -bt [ADDRESS] (address test mode, as swiftmta route), -bp \
            (list the queue, as mailq), -q [-v] (run the queue), -odq (queue only), -N, -R, -V (DSN), \
            -C FILE (the configuration; else $SWIFTMTA_CONFIG, /etc/swiftmta/swiftmta.toml, or the \
            embedded default).

            The message is a local submission (it may relay). While swiftmta serve runs it goes to the \
            server over the spool's control socket and is delivered at once; otherwise it is queued by \
            this process and delivered before it exits (unless -odq).

            Exit status (sysexits): 0 queued, 64 usage, 65 a malformed address, 67 no valid \
            recipient, 75 try again later, 78 a configuration error.
            """)

    @Argument(parsing: .captureForPassthrough, help: "Sendmail's options and the recipients.")
    var arguments: [String] = []

    func run() async throws {
        let status = await SendmailCommandLine.run(arguments: arguments)
        if status != 0 { throw ExitCode(status) }
    }
}

struct ImportMC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-mc",
        abstract: "Turn a sendmail.mc and its maps into a SwiftMTA configuration, with a report of what differs.",
        discussion: """
            Reads the .mc as m4 and Sendmail's cf library do (quoting, dnl, divert, define, FEATURE, \
            include of starttls.m4, Debian's /etc/mail layout), writes a configuration that behaves as \
            that Sendmail did and points at the same map files (the makemap-built .db when it is \
            there, else the text), and prints a report: every line carried over and to which key, \
            every line not carried over (file:line, why), every behaviour that differs, and warnings \
            (dead DNSBL zones, promiscuous_relay, PLAIN/LOGIN without confAUTH_OPTIONS p, keys under \
            2048 bits). Sendmail lets clients at 127.0.0.1 and ::1 relay; the import writes that trust \
            down explicitly as Connect: RELAY entries in an access text map beside the configuration \
            (imported-access). Local mail goes to the same /var/mail mbox files; the access map's \
            TLS_Srv: and Try_TLS: entries become the queue runner's TLS policy map \
            (imported-tls-policy). The written configuration is then checked as check-config does.

            With --check, the imported configuration routes a list of addresses (--addresses FILE, or \
            some made from the maps) as swiftmta route does, and, when a sendmail program and the .cf \
            are at hand, sendmail -bt routes them too, side by side.

            Exit status: 0 written and valid (with --check: every answer is Sendmail's); 1 written, but \
            check-config finds errors or --check found answers that differ; 64 bad options; 65 the .mc \
            cannot be read as m4; 73 the configuration exists (without --force) or cannot be written.
            """)

    @Argument(help: "The sendmail.mc.")
    var mc: String

    @Option(name: .long, help: ArgumentHelp("Where the .mc's files are, when not where it names them (/etc/mail/X is looked for as DIR/X).", valueName: "dir"))
    var maps: String?

    @Option(name: .long, help: ArgumentHelp("The configuration to write (default: swiftmta.toml here).", valueName: "file"))
    var out: String?

    @Option(name: .long, help: "The host name ($j) when the .mc does not set confDOMAIN_NAME and this is not that host.")
    var hostname: String?

    @Flag(name: .long, help: "Replace the configuration and the access map beside it if they exist.")
    var force = false

    @Flag(name: .long, help: "Route addresses with the imported configuration and compare with sendmail -bt.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("For --check: the addresses, one per line.", valueName: "file"))
    var addresses: String?

    @Option(name: .long, help: ArgumentHelp("For --check: the sendmail.cf built from the .mc (default: sendmail.cf beside it).", valueName: "file"))
    var cf: String?

    @Option(name: .long, help: ArgumentHelp("For --check: the sendmail program (default: /usr/sbin/sendmail).", valueName: "path"))
    var sendmail: String?

    var request: ImportMCCommand.Request {
        ImportMCCommand.Request(
            mcFile: mc, mapsDirectory: maps, outputFile: out, hostname: hostname, force: force, check: check,
            addressesFile: addresses, cfFile: cf, sendmail: sendmail)
    }

    func validate() throws {
        if let problem = request.problem { throw ValidationError(problem) }
    }

    func run() async throws {
        let (output, status) = await ImportMCCommand.run(request)
        print(output, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}
