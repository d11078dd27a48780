internal import MailAuth
internal import MailMaps
internal import MailTLS
public import NIOCore
internal import NIOPosix
internal import SMTPClient
internal import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftmta send`: one message from standard input to a server, through SMTPClient — the
/// command-line front end of the client, for scripts and for trying a server.
///
/// ```
/// swiftmta send --from alice@example.com --to bob@example.org --server mail.example.com:587 \
///     --starttls --auth-user alice --password-file ~/.smtp-password < message.eml
/// ```
///
/// Exit status (sysexits.h): 0 every recipient accepted; 75 (`EX_TEMPFAIL`) when a recipient
/// failed for now or the attempt failed in a way that may pass later; 69 (`EX_UNAVAILABLE`) when
/// recipients were refused for good and none for now; 64 (`EX_USAGE`) for arguments that do not
/// parse; 66 (`EX_NOINPUT`) for a password file that cannot be read. A line on standard error
/// names each refused recipient with the server's reply.
public enum SendCommand {
    /// How TLS is used.
    public enum TLSMode: String, Sendable {
        /// STARTTLS when offered (the default), implicit TLS on port 465.
        case opportunistic
        /// STARTTLS or no mail (`--starttls`).
        case startTLS
        /// TLS from the first byte (`--tls`, RFC 8314 §3.3).
        case implicit
        /// No TLS (`--no-tls`).
        case none
    }

    /// What the command was asked.
    public struct Request: Sendable {
        /// The envelope sender; empty or `<>` for the null reverse path.
        public var from: String
        /// The recipients.
        public var to: [String]
        /// `HOST[:PORT]`, `[HOST]:PORT`, `ADDRESS`; `nil` with ``mx`` to deliver to the recipients'
        /// domain's mail exchangers.
        public var server: String?
        /// Look the server (or the recipients' domain) up by its MX records.
        public var mx: Bool
        /// How TLS is used.
        public var tls: TLSMode
        /// Encrypt without checking the server's certificate.
        public var noVerify: Bool
        /// A PEM file of CAs to trust instead of the system's.
        public var caFile: String?
        /// The user to authenticate as (`I:`), with ``passwordFile``.
        public var authUser: String?
        /// A file whose first line is the password.
        public var passwordFile: String?
        /// The mechanism to use (default: the strongest both sides have).
        public var authMechanism: String?
        /// Allow PLAIN and LOGIN on a connection without TLS.
        public var allowPlaintextAuth: Bool
        /// The name for EHLO.
        public var hostname: String?
        /// Speak LMTP.
        public var lmtp: Bool
        /// A timeout for every stage, in seconds.
        public var timeout: Int?
        /// Nameservers for MX and address lookups (`address` or `address:port`).
        public var nameservers: [String]
        /// Print the server, TLS and each recipient's reply.
        public var verbose: Bool

        /// A request; the defaults are the command's.
        public init(
            from: String, to: [String], server: String? = nil, mx: Bool = false, tls: TLSMode = .opportunistic,
            noVerify: Bool = false, caFile: String? = nil, authUser: String? = nil, passwordFile: String? = nil,
            authMechanism: String? = nil, allowPlaintextAuth: Bool = false, hostname: String? = nil, lmtp: Bool = false,
            timeout: Int? = nil, nameservers: [String] = [], verbose: Bool = false
        ) {
            self.from = from
            self.to = to
            self.server = server
            self.mx = mx
            self.tls = tls
            self.noVerify = noVerify
            self.caFile = caFile
            self.authUser = authUser
            self.passwordFile = passwordFile
            self.authMechanism = authMechanism
            self.allowPlaintextAuth = allowPlaintextAuth
            self.hostname = hostname
            self.lmtp = lmtp
            self.timeout = timeout
            self.nameservers = nameservers
            self.verbose = verbose
        }
    }

    /// What the command printed and its exit status.
    public struct Outcome: Sendable {
        /// For standard output.
        public var output: String
        /// For standard error: each refused recipient with the server's reply, or the error.
        public var errors: String
        /// The exit status (sysexits.h).
        public var status: Int32
    }

    /// sysexits.h.
    static let usage: Int32 = 64, noInput: Int32 = 66, unavailable: Int32 = 69, temporaryFailure: Int32 = 75

    /// Sends the message read from standard input, prints what there is to print on standard
    /// output and standard error, and returns the exit status.
    public static func runFromCommandLine(_ request: Request) async -> Int32 {
        let outcome = await run(request, message: StandardInput())
        put(outcome.output, to: STDOUT_FILENO)
        put(outcome.errors, to: STDERR_FILENO)
        return outcome.status
    }

    private static func put(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Sends the message `message` yields.
    public static func run<Message: AsyncSequence>(_ request: Request, message: Message) async -> Outcome
    where Message.Element == ByteBuffer {
        let destination: SMTPDestination
        let envelope: SMTPEnvelope
        var configuration: SMTPClientConfiguration
        do {
            envelope = try makeEnvelope(request)
            configuration = try makeConfiguration(request)
            destination = try await makeDestination(request, envelope: envelope)
        } catch let failure as Failure {
            return Outcome(output: "", errors: "swiftmta send: \(failure.message)\n", status: failure.status)
        } catch {
            return Outcome(output: "", errors: "swiftmta send: \(error)\n", status: usage)
        }
        configuration.maximumMessagesPerConnection = 1
        do {
            let result = try await SMTPClient.send(message, envelope: envelope, via: destination, configuration: configuration)
            return report(result, request: request)
        } catch {
            var errors = "swiftmta send: \(error)\n"
            if let partial = error.partialResult {
                errors += partial.recipients.filter { !$0.isAccepted }.map { "\($0.recipient): \($0.reply)\n" }.joined()
            }
            return Outcome(output: "", errors: errors, status: error.isTemporary ? temporaryFailure : unavailable)
        }
    }

    private static func report(_ result: SMTPSendResult, request: Request) -> Outcome {
        var output = ""
        if request.verbose {
            output += "server \(result.server) \(result.server.greeting)\n"
            if let tls = result.server.tls { output += "tls \(tls.logFields)\n" }
            if let mechanism = result.server.authenticationMechanism { output += "auth \(mechanism)\n" }
            for recipient in result.recipients where recipient.isAccepted {
                output += "\(recipient.recipient): \(recipient.reply)\n"
            }
        }
        let errors = result.recipients.filter { !$0.isAccepted }.map {
            "\($0.recipient): \($0.reply)\($0.isClientDecision ? " (refused by this client before sending)" : "")\n"
        }.joined()
        let status: Int32 = !result.temporaryFailures.isEmpty ? temporaryFailure : !result.permanentFailures.isEmpty ? unavailable : 0
        return Outcome(output: output, errors: errors, status: status)
    }

    // MARK: - Arguments

    struct Failure: Error {
        let message: String
        let status: Int32
    }

    static func makeEnvelope(_ request: Request) throws -> SMTPEnvelope {
        let sender: Mailbox?
        let from = request.from.trimmingCharacters(in: "<>")
        if from.isEmpty {
            sender = nil
        } else {
            do {
                sender = try Mailbox(parsing: from)
            } catch {
                throw Failure(message: "--from \(request.from): \(error.message)", status: usage)
            }
        }
        guard !request.to.isEmpty else { throw Failure(message: "give at least one --to", status: usage) }
        let recipients = try request.to.map { text -> SMTPEnvelope.Recipient in
            do {
                return SMTPEnvelope.Recipient(ForwardPath(mailbox: try Mailbox(parsing: text.trimmingCharacters(in: "<>"))))
            } catch {
                throw Failure(message: "--to \(text): \(error)", status: usage)
            }
        }
        return SMTPEnvelope(reversePath: ReversePath(mailbox: sender), recipients: recipients)
    }

    static func makeConfiguration(_ request: Request) throws -> SMTPClientConfiguration {
        var configuration = SMTPClientConfiguration(hostname: request.hostname)
        if let timeout = request.timeout {
            guard timeout > 0 else { throw Failure(message: "--timeout must be a number of seconds above 0", status: usage) }
            configuration.timeouts = SMTPClientTimeouts(every: .seconds(timeout))
        }
        if let caFile = request.caFile { configuration.tls = .client(caFile: caFile) }
        if !request.nameservers.isEmpty {
            do {
                let servers = try request.nameservers.map { try DNSResolver.Configuration.Nameserver(parsing: $0) }
                configuration.resolver = DNSResolver(configuration: DNSResolver.Configuration(nameservers: servers))
            } catch {
                throw Failure(message: "--nameserver: \(error)", status: usage)
            }
        }
        return configuration
    }

    static func makeDestination(_ request: Request, envelope: SMTPEnvelope) async throws -> SMTPDestination {
        let (host, port) = try parseServer(request)
        var target: SMTPDestination.Target
        if request.mx {
            target = .mailExchangers(domain: host)
        } else {
            target = SMTPDestination.Target(parsing: host)
            if case .mailExchangers(let name) = target { target = .host(name) }
        }
        let resolvedPort = port ?? (request.lmtp ? 24 : request.tls == .implicit ? 465 : 25)
        var tls: SMTPClientTLSPolicy
        switch request.tls {
        case .opportunistic: tls = .opportunistic
        case .startTLS: tls = .required
        case .implicit: tls = .implicit
        case .none: tls = .none
        }
        if request.noVerify, tls.level == .required { tls.verification = .encryptOnly }
        var credentials: SMTPClientCredentials?
        if let user = request.authUser {
            guard let file = request.passwordFile else {
                throw Failure(message: "--auth-user needs --password-file", status: usage)
            }
            let password = try await readPassword(file)
            var mechanisms: [SASLMechanismName]?
            if let name = request.authMechanism {
                guard let mechanism = SASLMechanismName(name) else {
                    throw Failure(message: "--auth-mechanism \(name) is not a SASL mechanism name", status: usage)
                }
                mechanisms = [mechanism]
            }
            credentials = SMTPClientCredentials(
                user: user, password: password, mechanisms: mechanisms, allowsPlaintextWithoutTLS: request.allowPlaintextAuth)
        }
        return SMTPDestination(target: target, port: resolvedPort, dialect: request.lmtp ? .lmtp : .smtp, tls: tls, credentials: credentials)
    }

    /// `HOST`, `HOST:PORT`, `[HOST]`, `[HOST]:PORT`, `[IPv6:…]:PORT`, or — with `--mx` and no
    /// server — the recipients' domain.
    static func parseServer(_ request: Request) throws -> (host: String, port: Int?) {
        guard let server = request.server, !server.isEmpty else {
            guard request.mx else { throw Failure(message: "give --server HOST[:PORT], or --mx to use the recipients' mail exchangers", status: usage) }
            let domains = Set(request.to.compactMap { $0.split(separator: "@").last.map { $0.lowercased().trimmingCharacters(in: "<>") } })
            guard domains.count == 1, let domain = domains.first else {
                throw Failure(message: "--mx without --server needs recipients of one domain", status: usage)
            }
            return (domain, nil)
        }
        var host = Substring(server)
        var port: Int?
        if server.hasPrefix("[") {
            guard let close = server.firstIndex(of: "]") else { throw Failure(message: "--server \(server): no closing ]", status: usage) }
            host = server[...close]
            let rest = server[server.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { throw Failure(message: "--server \(server): bad port", status: usage) }
                port = value
            }
        } else if server.filter({ $0 == ":" }).count == 1, let colon = server.firstIndex(of: ":") {
            host = server[..<colon]
            guard let value = Int(server[server.index(after: colon)...]) else { throw Failure(message: "--server \(server): bad port", status: usage) }
            port = value
        }
        if let port, !(1...65535).contains(port) { throw Failure(message: "--server \(server): port out of range", status: usage) }
        guard !host.isEmpty else { throw Failure(message: "--server \(server): no host", status: usage) }
        return (String(host), port)
    }

    /// The first line of `path`, read on a thread pool (never on the caller's thread).
    static func readPassword(_ path: String) async throws -> SASLSecret {
        let bytes: [UInt8]
        do {
            bytes = try await NIOThreadPool.singleton.runIfActive { () throws -> [UInt8] in
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw Failure(message: "--password-file \(path): \(String(cString: strerror(errno)))", status: noInput) }
                defer { close(descriptor) }
                var data: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while data.count < 64 * 1024 {
                    let count = read(descriptor, &chunk, chunk.count)
                    if count < 0, errno == EINTR { continue }
                    guard count >= 0 else { throw Failure(message: "--password-file \(path): \(String(cString: strerror(errno)))", status: noInput) }
                    if count == 0 { break }
                    data += chunk[..<count]
                }
                return data
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "--password-file \(path): \(error)", status: noInput)
        }
        var line = bytes.prefix { $0 != 0x0A }
        if line.last == 0x0D { line = line.dropLast() }
        guard !line.isEmpty else { throw Failure(message: "--password-file \(path): the first line is empty", status: noInput) }
        return SASLSecret(bytes: Array(line))
    }
}

/// Standard input as a sequence of buffers, each read on a thread pool so that a slow pipe never
/// holds one of Swift concurrency's threads.
struct StandardInput: AsyncSequence {
    typealias Element = ByteBuffer

    struct AsyncIterator: AsyncIteratorProtocol {
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            let chunk = try await NIOThreadPool.singleton.runIfActive { () throws -> [UInt8] in
                var bytes = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = read(STDIN_FILENO, &bytes, bytes.count)
                    if count < 0, errno == EINTR { continue }
                    guard count >= 0 else { throw SendCommand.Failure(message: "reading standard input: \(String(cString: strerror(errno)))", status: SendCommand.noInput) }
                    return Array(bytes[..<count])
                }
            }
            guard !chunk.isEmpty else {
                finished = true
                return nil
            }
            return ByteBuffer(bytes: chunk)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
