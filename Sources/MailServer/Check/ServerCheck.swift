import NIOCore
import NIOPosix

/// `swiftmta check server HOST[:PORT]`: a black-box probe of any SMTP server (SwiftMTA, Postfix,
/// Sendmail, Exim) for the classic ways to abuse one, one report line per probe.
///
/// What it tries, each on connections of its own from `--from-ip` when given:
/// - **Open relay** (RFC 5321 §3.6.2, §7.1): RCPT with the address forms that fooled relays —
///   the percent hack, bang paths, quoted local parts, source routes, IP literals, case and
///   trailing-dot variants — toward `--relay-domain` (by default `relay-test.invalid`, a name
///   that cannot exist, RFC 2606). Every relay probe stops at the RCPT reply and RSET: no DATA is
///   ever sent, so no relayed message can reach anyone even when the server is open.
/// - **SMTP smuggling**: whether a bare LF, a bare CR, their mixtures or a NUL around the dot
///   ends the message text (RFC 5321 §4.1.1.4 allows only CRLF.CRLF). One message per variant
///   goes to the test mailbox the operator names with `--recipient`, and what follows the variant
///   is only `NOOP`: a server that takes the variant as the end answers the NOOP (which is how the
///   probe tells) and delivers the cut-off probe message — still only to that mailbox. No second
///   transaction is ever smuggled, so even a vulnerable server delivers nothing to anyone else.
/// - **STARTTLS command injection** (RFC 3207 §4.2, CVE-2011-0411): a command pipelined after
///   STARTTLS must not run after TLS begins.
/// - **AUTH before TLS** (RFC 4954 §4): PLAIN and LOGIN offered or accepted in plaintext. No
///   credential is ever sent: an exchange the server accepts is cancelled with `*`.
/// - **TLS**: STARTTLS offered, TLS 1.0 and 1.1 refused (RFC 8996), 1.2 and 1.3 accepted, and
///   the certificate's dates, name (RFC 6125) and chain.
/// - **Limits**: an overlong command line, a NUL in a command, a flood of unknown commands.
///
/// Exit status: 0 no probe failed, 1 some probe failed, 2 the server could not be probed (no
/// connection, no 220 greeting), 64 bad options.
public enum ServerCheck {
    /// What the command was asked.
    public struct Request: Sendable {
        /// `HOST`, `HOST:PORT`, `[IPv6]:PORT` or a bare IPv6 address; port 25 by default.
        public var target: String
        /// The local address to connect from (a client the server does not trust).
        public var sourceAddress: String?
        /// The recipient domain of the relay probes: one the server must not relay to.
        public var relayDomain: String
        /// A mailbox the server accepts and the operator reads, for the smuggling probes; they
        /// are skipped without one.
        public var recipient: String?
        /// The envelope sender of the probes; the null sender `<>` by default.
        public var sender: String?
        /// The EHLO name; by default the address literal of the connection's local address.
        public var helo: String?
        /// The name the certificate must carry; by default HOST when it is a name, else the name
        /// in the greeting.
        public var serverName: String?
        /// PEM certificates to trust besides the system's (the server's own CA, or its
        /// self-signed certificate).
        public var caFile: String?
        /// The longest wait for one reply.
        public var timeout: Duration
        /// Print JSON.
        public var json: Bool

        /// A request; see each property.
        public init(target: String, sourceAddress: String? = nil, relayDomain: String = "relay-test.invalid", recipient: String? = nil,
                    sender: String? = nil, helo: String? = nil, serverName: String? = nil, caFile: String? = nil,
                    timeout: Duration = .seconds(20), json: Bool = false) {
            self.target = target
            self.sourceAddress = sourceAddress
            self.relayDomain = relayDomain
            self.recipient = recipient
            self.sender = sender
            self.helo = helo
            self.serverName = serverName
            self.caFile = caFile
            self.timeout = timeout
            self.json = json
        }

        /// Why the options do not go together, or `nil`.
        public var problem: String? {
            guard Self.parseTarget(target) != nil else {
                return "\"\(target)\" is not HOST, HOST:PORT or [IPv6]:PORT with a port from 1 to 65535"
            }
            if let sourceAddress, (try? SocketAddress(ipAddress: sourceAddress, port: 0)) == nil {
                return "--from-ip \"\(sourceAddress)\" is not an IPv4 or IPv6 address"
            }
            if relayDomain.isEmpty || relayDomain.contains(where: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) {
                return "--relay-domain \"\(relayDomain)\" is not a domain name"
            }
            for (option, value) in [("--recipient", recipient), ("--sender", sender)] {
                if let value, value != "<>", !Self.isMailbox(value) {
                    return "\(option) \"\(value)\" is not a mailbox (local-part@domain)"
                }
            }
            if let helo, helo.isEmpty || helo.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) {
                return "--helo \"\(helo)\" is not a domain or address literal"
            }
            if timeout <= .zero { return "--timeout must be more than 0 seconds" }
            return nil
        }

        static func isMailbox(_ text: String) -> Bool {
            let bare = text.hasPrefix("<") && text.hasSuffix(">") ? String(text.dropFirst().dropLast()) : text
            guard let at = bare.lastIndex(of: "@"), at != bare.startIndex, bare.index(after: at) != bare.endIndex else { return false }
            return !bare.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == "\0" })
        }

        /// The host and port of `HOST[:PORT]`.
        static func parseTarget(_ text: String) -> (host: String, port: Int)? {
            var host = text
            var port = 25
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { return nil }
                    port = number
                }
            } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
                host = String(text[..<colon])
                guard let number = Int(text[text.index(after: colon)...]) else { return nil }
                port = number
            }
            guard !host.isEmpty, (1...65535).contains(port),
                  !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else { return nil }
            return (host, port)
        }
    }

    /// Exit statuses.
    public enum ExitStatus {
        /// No probe failed.
        public static let passed: Int32 = 0
        /// At least one probe failed.
        public static let failed: Int32 = 1
        /// The server could not be probed.
        public static let unreachable: Int32 = 2
        /// The options are wrong.
        public static let usage: Int32 = 64
    }

    /// Runs every probe; returns the report and the exit status (``ExitStatus``).
    public static func run(_ request: Request) async -> (output: String, status: Int32) {
        if let problem = request.problem {
            return ("swiftmta check server: \(problem)\n", ExitStatus.usage)
        }
        let (host, port) = Request.parseTarget(request.target)!
        let address: SocketAddress
        do {
            if let literal = try? SocketAddress(ipAddress: host, port: port) {
                address = literal
            } else {
                address = try await NIOThreadPool.singleton.runIfActive { try SocketAddress.makeAddressResolvingHost(host, port: port) }
            }
        } catch {
            return ("swiftmta check server: cannot resolve \(host): \(error)\n", ExitStatus.unreachable)
        }
        let source = request.sourceAddress.flatMap { try? SocketAddress(ipAddress: $0, port: 0) }
        let prober = ServerProber(request: request, host: host, address: address, source: source)
        let report: ServerCheckReport
        do {
            report = try await prober.run()
        } catch {
            return ("swiftmta check server: \(request.target): \(error)\n", ExitStatus.unreachable)
        }
        let output = request.json ? report.json : report.text
        return (output, report.results.contains { $0.status == .fail } ? ExitStatus.failed : ExitStatus.passed)
    }
}
