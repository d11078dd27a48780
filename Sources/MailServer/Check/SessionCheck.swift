import Logging
import MailAuth
import MailRouting
import MailTLS
import NIOCore
import NIOPosix
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `swiftmta check session`: what the server would do with a session, without a network and
/// without delivering — Exim's `-bh` for SwiftMTA.
///
/// The transcript (``SessionTranscript``: the client's lines, plain or in the golden `C:`/`S:`
/// form) runs through the server's own session code and policy, built from the configuration as
/// `swiftmta serve` builds them, over an in-memory connection from `--client-ip`. The output is a
/// transcript: the greeting and every reply (`S:`), each policy decision with the lookups that
/// made it (`P:`), TLS (`T:`), what the check itself sent (`I:`), the server's log lines at
/// notice and above (`L:`), and how it ended (`X:`). Accepted messages go nowhere.
///
/// With a golden transcript the output is also compared with the file's lines (the tags it
/// uses), which makes golden session tests of the real server one command each:
///
/// ```
/// $ swiftmta check session --config swiftmta.toml --client-ip 192.0.2.7 < relay-refused.txt
/// ```
public enum SessionCheck {
    /// What the command was asked.
    public struct Request: Sendable {
        /// The configuration file; `nil` for the embedded default.
        public var configurationFile: String?
        /// The client's IP address.
        public var clientAddress: String
        /// The client's host name, as a confirmed reverse lookup would give it.
        public var clientHost: String?
        /// The session runs under TLS from the start (as after STARTTLS).
        public var tls: Bool
        /// `MECH:USER`: the client authenticates as USER with MECH after its EHLO.
        public var authentication: String?
        /// The listener mode to run (`smtp`, `submission`, `smtps`, `lmtp`); the configuration's
        /// first listener when `nil`.
        public var listener: String?
        /// The server's log lines shown (`L:`): this level and above (default `notice`).
        public var logLevel: String?

        /// A request; see each property.
        public init(configurationFile: String? = nil, clientAddress: String, clientHost: String? = nil, tls: Bool = false,
                    authentication: String? = nil, listener: String? = nil, logLevel: String? = nil) {
            self.configurationFile = configurationFile
            self.clientAddress = clientAddress
            self.clientHost = clientHost
            self.tls = tls
            self.authentication = authentication
            self.listener = listener
            self.logLevel = logLevel
        }

        /// Why the options do not go together, or `nil`.
        public var problem: String? {
            if (try? SocketAddress(ipAddress: clientAddress, port: 0)) == nil {
                return "--client-ip \"\(clientAddress)\" is not an IPv4 or IPv6 address"
            }
            if let clientHost, clientHost.isEmpty || clientHost.contains(where: { $0 == " " || $0 == "\t" }) {
                return "--client-host \"\(clientHost)\" is not a host name"
            }
            if let authentication, Self.parseAuthentication(authentication) == nil {
                return "--auth takes MECH:USER with a SASL mechanism name (like PLAIN:amy), not \"\(authentication)\""
            }
            if let listener, ServerConfiguration.ListenerMode(name: listener) == nil {
                return "--listener must be smtp, submission, smtps or lmtp, not \"\(listener)\""
            }
            if let logLevel, Logger.Level(rawValue: logLevel) == nil {
                return "--log-level must be trace, debug, info, notice, warning, error or critical, not \"\(logLevel)\""
            }
            return nil
        }

        static func parseAuthentication(_ text: String) -> (SASLMechanismName, String)? {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[1].isEmpty, let mechanism = SASLMechanismName(parts[0].uppercased()) else { return nil }
            return (mechanism, String(parts[1]))
        }
    }

    /// Exit statuses.
    public enum ExitStatus {
        /// The session ran (and matched the golden transcript, if it was one).
        public static let ran: Int32 = 0
        /// The session did not go as the golden transcript says.
        public static let differs: Int32 = 1
        /// The configuration cannot be used.
        public static let configurationError: Int32 = 2
        /// The transcript cannot be read.
        public static let badTranscript: Int32 = 65
        /// The options are wrong.
        public static let usage: Int32 = 64
    }

    /// The most a transcript may hold.
    public static let maximumTranscriptSize = 64 << 20

    /// Reads the transcript from standard input (at most ``maximumTranscriptSize`` octets).
    public static func readStandardInput() -> Result<String, SessionCheckError> {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(SessionCheckError("cannot read the transcript from standard input: \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count > maximumTranscriptSize {
                return .failure(SessionCheckError("the transcript on standard input is over \(maximumTranscriptSize >> 20) MiB"))
            }
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// Runs the session; returns the transcript of what happened and the exit status
    /// (``ExitStatus``).
    public static func run(_ request: Request, transcript text: String) async -> (output: String, status: Int32) {
        if let problem = request.problem {
            return ("swiftmta check session: \(problem)\n", ExitStatus.usage)
        }
        let transcript: SessionTranscript
        do {
            transcript = try SessionTranscript(text: text)
        } catch {
            return ("swiftmta check session: \(error)\n", ExitStatus.badTranscript)
        }
        let recorder = SessionRecorder()
        let level = request.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .notice
        let logger = Logger(label: "swiftmta") { _ in recorder.logHandler(level: level) }
        // Files, maps, certificates and a key to generate: blocking work, on NIO's thread pool.
        let setUp: SetUp
        do {
            setUp = try await NIOThreadPool.singleton.runIfActive { try prepare(request, logger: logger) }
        } catch let failure as SetUpFailure {
            return (failure.output, failure.status)
        } catch {
            return ("swiftmta check session: \(error)\n", ExitStatus.configurationError)
        }
        let configuration = setUp.configuration
        let prepared = setUp.prepared
        var notes = setUp.notes
        defer { if let temporary = setUp.temporaryFolder { removeTemporaryFolder(temporary) } }
        var server = prepared.server

        let listener: ServerConfiguration.Listener
        if let name = request.listener, let mode = ServerConfiguration.ListenerMode(name: name) {
            listener = server.listeners.first { $0.mode == mode } ?? .init(host: "127.0.0.1", port: 0, mode: mode)
        } else {
            listener = server.listeners.first ?? .init(host: "127.0.0.1", port: 25, mode: .smtp)
        }
        let implicitTLS = request.tls || listener.mode == .smtps
        if implicitTLS, server.tls == nil {
            return ("swiftmta check session: \(request.tls ? "--tls" : "an smtps listener") needs a TLS certificate, and \(configuration.file) has none ([tls] certificate and key)\n",
                    ExitStatus.configurationError)
        }

        var injected: (command: [UInt8], shown: String)?
        if let text = request.authentication, let (mechanism, user) = Request.parseAuthentication(text) {
            var generator = SystemRandomNumberGenerator()
            let token = (0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if var authentication = server.authentication {
                authentication.backend = SimulatedAuthentication(backend: authentication.backend, mechanism: mechanism, user: user, token: token)
                server.authentication = authentication
            } else {
                notes.append("# --auth: \(configuration.file) has no [auth] backend: the server offers no AUTH")
            }
            injected = (Array("AUTH \(mechanism) \(Base64.encode(token))\r\n".utf8),
                        "I: AUTH \(mechanism) (--auth: stands for a successful exchange as \(user))")
        }

        let clientHost = request.clientHost
        // The server's policy over a store that keeps nothing (no spool is opened).
        var backend = prepared.backend(store: CheckMessageStore(recorder: recorder), logger: logger)
        backend.observer = recorder
        backend.identify = { info in ClientIdentity(address: info.clientAddress, hostName: clientHost) }

        guard let clientAddress = try? SocketAddress(ipAddress: request.clientAddress, port: 49152) else {
            return ("swiftmta check session: --client-ip \"\(request.clientAddress)\" is not an IPv4 or IPv6 address\n", ExitStatus.usage)
        }
        let localAddress = try? SocketAddress(ipAddress: listener.host, port: listener.port)
        var header = [
            "# swiftmta check session: \(configuration.file), listener \(listener.mode) \(SMTPServer.describe(listener))",
            "# client [\(request.clientAddress)]\(clientHost.map { " (\($0))" } ?? " (no host name)")\(implicitTLS ? ", under TLS from the start" : "")\(request.authentication.map { ", --auth \($0)" } ?? "")",
            "# nothing is delivered: accepted messages are dropped",
        ]
        header += notes
        recorder.append(contentsOf: header)

        let session = InMemorySession(
            configuration: server, listener: listener, backend: backend, recorder: recorder, clientAddress: clientAddress,
            localAddress: localAddress, implicitTLS: implicitTLS, injectedAuthentication: injected, stepTimeout: .seconds(60), logger: logger)
        let ending = await session.run(transcript)
        switch ending {
        case .closedByServer(let unsent):
            recorder.append("X: the server closed the connection")
            if unsent > 0 { recorder.append("# \(unsent) transcript line\(unsent == 1 ? " was" : "s were") not sent") }
        case .closedByClient:
            recorder.append("X: end of the transcript: the client closed the connection")
        case .timedOut:
            recorder.append("X: the server did not answer within 60 seconds")
        case .failed(let reason):
            recorder.append("X: the in-memory connection failed: \(reason)")
        }
        if let auth = request.authentication, injected != nil, !recorder.lines.contains(where: { $0.hasPrefix("P: authenticated as ") }) {
            recorder.append("# --auth \(auth): the server never took the AUTH (see its reply above): the session ran unauthenticated")
        }

        let lines = recorder.lines
        var output = lines.joined(separator: "\n") + "\n"
        guard transcript.form == .golden else { return (output, ExitStatus.ran) }
        // Paths under the configuration's folder compare relative to it, so that a golden
        // transcript holds wherever its set-up is copied.
        let folder = configuration.directory.hasSuffix("/") ? configuration.directory : configuration.directory + "/"
        let compared = transcript.comparedTags.union(["C", "R"])
        // The lookups under a decision (`P:   …`) are compared when the file has any.
        let tracesCompared = transcript.expected.contains { $0.hasPrefix("P:   ") }
        let actual = lines.filter { line in
            guard let tag = SessionTranscript.tag(of: line), compared.contains(tag) else { return false }
            return tracesCompared || !line.hasPrefix("P:   ")
        }.map { SessionTranscript.normalized(SessionTranscript.removing(folder, from: $0)) }
        guard actual != transcript.expected else { return (output, ExitStatus.ran) }
        output += "# the session differs from the transcript (- the transcript, + this run):\n"
        output += LineDifference(expected: transcript.expected, actual: actual).lines.joined(separator: "\n") + "\n"
        return (output, ExitStatus.differs)
    }

    /// What ``prepare(_:logger:)`` made ready.
    private struct SetUp: Sendable {
        var configuration: SwiftMTAConfiguration
        var prepared: ReferenceSetup.Prepared
        var notes: [String]
        /// The stand-in certificate's folder, removed when the run ends.
        var temporaryFolder: String?
    }

    /// Why the run cannot start: what to print and the exit status.
    private struct SetUpFailure: Error {
        var output: String
        var status: Int32
    }

    /// Loads the configuration and prepares what `swiftmta serve` would run, without making any
    /// of its files; a self-signed certificate the server would make on its first start gets a
    /// temporary stand-in. Blocking.
    private static func prepare(_ request: Request, logger: Logger) throws(SetUpFailure) -> SetUp {
        var configuration: SwiftMTAConfiguration
        do {
            if let file = request.configurationFile {
                configuration = try SwiftMTAConfiguration.load(path: file)
            } else {
                configuration = try SwiftMTAConfiguration.embeddedDefault()
            }
        } catch {
            throw SetUpFailure(output: "swiftmta check session: \(error)\n", status: ExitStatus.configurationError)
        }
        var notes: [String] = []
        var temporary: String?
        // A self-signed certificate the server makes on its first start: a stand-in, so that
        // STARTTLS is offered as it will be.
        if configuration.tls.selfSigned, let certificate = configuration.tls.certificate, let key = configuration.tls.key,
           !FileSupport.exists(certificate), !FileSupport.exists(key) {
            do {
                let folder = try makeTemporaryFolder()
                temporary = folder
                var names = [configuration.hostname]
                if configuration.hostname.lowercased() != "localhost" { names.append("localhost") }
                try SelfSignedCertificate.generate(hostNames: names).write(certificateFile: folder + "/cert.pem", privateKeyFile: folder + "/key.pem")
                configuration.tls.certificate = folder + "/cert.pem"
                configuration.tls.key = folder + "/key.pem"
                notes.append("# \(certificate) does not exist yet (the server makes it on its first start): a temporary self-signed certificate stands in")
            } catch {
                if let temporary { removeTemporaryFolder(temporary) }
                throw SetUpFailure(output: "swiftmta check session: cannot make a stand-in for the self-signed certificate: \(error)\n",
                                   status: ExitStatus.configurationError)
            }
        }
        let (prepared, errors) = ReferenceSetup(configuration: configuration, createsFiles: false, logger: logger).prepare()
        guard let prepared, errors.isEmpty else {
            if let temporary { removeTemporaryFolder(temporary) }
            throw SetUpFailure(output: errors.map { "swiftmta check session: \($0)\n" }.joined(), status: ExitStatus.configurationError)
        }
        return SetUp(configuration: configuration, prepared: prepared, notes: notes, temporaryFolder: temporary)
    }

    private static func makeTemporaryFolder() throws(SessionCheckError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/swiftmta-check-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SessionCheckError("cannot make a temporary folder in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: result)
    }

    private static func removeTemporaryFolder(_ path: String) {
        for name in ["cert.pem", "key.pem"] { unlink(path + "/" + name) }
        rmdir(path)
    }
}
