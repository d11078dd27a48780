import ArgumentParser
import MailServer

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe an SMTP server for open relay, smuggling and TLS mistakes, or run a session offline.",
        subcommands: [Server.self, Session.self])

    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Probe any SMTP server from outside: open relay, SMTP smuggling, STARTTLS injection, AUTH before TLS, TLS, limits.",
            discussion: """
                One line per probe (pass, FAIL, warn or skip, and what the server answered), then a summary.

                Relay probes send RCPT with the classic open-relay address forms toward --relay-domain \
                (a domain the server must not relay to; by default relay-test.invalid, which cannot exist) \
                and stop at the RCPT reply and RSET: no DATA is sent, so nothing is ever relayed.

                Smuggling probes need --recipient, a mailbox at the server that you read: each delivers \
                one probe message there. What follows each end-of-data look-alike is only NOOP, so even a \
                vulnerable server delivers nothing but the cut-off probe message, and only there.

                Probe from an address the server does not trust (--from-ip), or relaying from a trusted \
                network is what the server is meant to do.

                Exit status: 0 no probe failed, 1 some probe failed, 2 the server could not be probed, \
                64 bad options.
                """)

        @Argument(help: "The server: HOST, HOST:PORT or [IPv6]:PORT (port 25 by default).")
        var server: String

        @Option(name: .long, help: "The local address to connect from.")
        var fromIP: String?

        @Option(name: .long, help: "The recipient domain of the relay probes: one the server must not relay to.")
        var relayDomain: String = "relay-test.invalid"

        @Option(name: .long, help: "A mailbox at the server that you read, for the smuggling probes.")
        var recipient: String?

        @Option(name: .long, help: "The envelope sender of the probes (default: the null sender <>).")
        var sender: String?

        @Option(name: .long, help: "The EHLO name (default: the address literal of the local address).")
        var helo: String?

        @Option(name: .long, help: "The name the certificate must carry (default: HOST, or the greeting's name when HOST is an address).")
        var serverName: String?

        @Option(name: .long, help: "PEM certificates to trust besides the system's (your own CA or self-signed certificate).")
        var caFile: String?

        @Option(name: .long, help: "Seconds to wait for one reply.")
        var timeout: Int = 20

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        var request: ServerCheck.Request {
            ServerCheck.Request(
                target: server, sourceAddress: fromIP, relayDomain: relayDomain, recipient: recipient, sender: sender,
                helo: helo, serverName: serverName, caFile: caFile, timeout: .seconds(timeout), json: json)
        }

        func validate() throws {
            if let problem = request.problem { throw ValidationError(problem) }
        }

        func run() async throws {
            let (output, status) = await ServerCheck.run(request)
            print(output, terminator: "")
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Session: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a scripted SMTP session (standard input) through the server's code, without a network or delivery.",
            discussion: """
                As Exim's -bh: the configuration is loaded as swiftmta serve loads it, the session runs \
                through the server's own session code and policy over an in-memory connection from \
                --client-ip, and every reply (S:), policy decision with the lookups that made it (P:), \
                TLS event (T:), line the check itself sent (I:), server log line (L:) and the end (X:) is \
                printed. Accepted messages are dropped: nothing is queued or delivered.

                The transcript is either the client's lines as typed (each sent with CRLF), or a golden \
                transcript of tagged lines: C: a client line, R: raw bytes with \\r \\n \\t \\\\ \\xHH escapes \
                (consecutive C:/R: lines are one pipelined write), and the expected S:, P:, T:, I:, L:, X: \
                lines. A golden transcript is compared with the run, for the tags it uses.

                --tls runs the session under TLS from the start (a real handshake in memory, with the \
                configured certificate), as after STARTTLS; a STARTTLS in the transcript runs for real too. \
                --auth MECH:USER has the client authenticate as USER with MECH right after its EHLO, as \
                if the exchange had succeeded; the server's own rules decide whether MECH is allowed there.

                Exit status: 0 the session ran (and matched a golden transcript), 1 it differs from the \
                golden transcript, 2 the configuration cannot be used, 64 bad options, 65 the transcript \
                cannot be read.
                """)

        @Option(name: .long, help: "The configuration file (default: the embedded default).")
        var config: String?

        @Option(name: .long, help: "The client's IP address.")
        var clientIP: String

        @Option(name: .long, help: "The client's host name, as a confirmed reverse lookup gives it.")
        var clientHost: String?

        @Flag(name: .long, help: "The session runs under TLS from the start.")
        var tls = false

        @Option(name: .long, help: "MECH:USER: the client authenticates as USER with MECH after EHLO.")
        var auth: String?

        @Option(name: .long, help: "The listener to run: smtp, submission, smtps or lmtp (default: the first configured).")
        var listener: String?

        @Option(name: .long, help: "The server log lines shown (L:): this level and above (default notice).")
        var logLevel: String?

        var request: SessionCheck.Request {
            SessionCheck.Request(
                configurationFile: config, clientAddress: clientIP, clientHost: clientHost, tls: tls, authentication: auth,
                listener: listener, logLevel: logLevel)
        }

        func validate() throws {
            if let problem = request.problem { throw ValidationError(problem) }
        }

        func run() async throws {
            let transcript: String
            switch SessionCheck.readStandardInput() {
            case .success(let text): transcript = text
            case .failure(let error):
                print("swiftmta check session: \(error)")
                throw ExitCode(SessionCheck.ExitStatus.badTranscript)
            }
            let (output, status) = await SessionCheck.run(request, transcript: transcript)
            print(output, terminator: "")
            if status != 0 { throw ExitCode(status) }
        }
    }
}
