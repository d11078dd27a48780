import Foundation
import MailServer
import Testing
import TestSupport

/// The built `swiftmta serve` as an administrator runs it, on a configuration a test writes into
/// a private folder: listeners on port 0 (the server prints the ports it got), files relative to
/// that folder, standard output and error in a file.
final class ServeProcess: @unchecked Sendable {
    static var executable: String { "\(ExternalTool.repositoryRoot)/.build/debug/swiftmta" }

    let directory: TemporaryDirectory
    let process: BackgroundProcess
    /// The ports by listener mode (`smtp`, `submission`, `smtps`, `lmtp`).
    let ports: [String: Int]

    /// Starts the server with `configuration` (TOML, without `[[listen]]`) and one listener per
    /// mode in `modes` on 127.0.0.1, port 0. `prepare` may add files to the folder first.
    ///
    /// The tests' sender domains (`example.test`, `outside.example`) do not resolve, and this
    /// machine's resolver drops queries: unless `resolvesSenders`, the configuration takes
    /// `accept_unresolvable_domains` (check_mail would answer 451 4.1.8 otherwise).
    init(
        _ configuration: String, modes: [String] = ["smtp", "submission", "smtps"], listenerOptions: String = "",
        hostname: String = "mx.example.test", resolvesSenders: Bool = false, prepare: (TemporaryDirectory) throws -> Void = { _ in }
    ) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-serve")
        try prepare(directory)
        var configuration = configuration
        // The spool beside the file; messages stay queued (delivery_mode "queue") for stored() to
        // read, unless the test configures [queue] itself.
        if !configuration.contains("[queue]") {
            configuration += "\n[queue]\ndirectory = \"var/spool\"\ndelivery_mode = \"queue\"\n"
        }
        if !resolvesSenders {
            if configuration.contains("[relay]") {
                configuration = configuration.replacingOccurrences(of: "[relay]", with: "[relay]\naccept_unresolvable_domains = true")
            } else {
                configuration += "\n[relay]\naccept_unresolvable_domains = true\n"
            }
        }
        // No reverse lookups unless the test asks for them: the machine's resolver drops queries
        // now and then, and a client's name would then be TEMP instead of FAIL.
        if !configuration.contains("reverse_lookups") {
            if configuration.contains("[dns]") {
                configuration = configuration.replacingOccurrences(of: "[dns]", with: "[dns]\nreverse_lookups = false")
            } else {
                configuration += "\n[dns]\nreverse_lookups = false\n"
            }
        }
        if !configuration.contains("[local]") {
            configuration += "\n[local]\nmail_directory = \"var/mail\"\n"
        }
        let listeners = modes.map { "\n[[listen]]\naddress = \"127.0.0.1:0\"\nmode = \"\($0)\"\n\(listenerOptions)" }.joined()
        let file = try directory.write("swiftmta.toml", "hostname = \"\(hostname)\"\n" + configuration + "\n" + listeners)
        process = try BackgroundProcess(Self.executable, ["serve", "--config", file, "--log-level", "debug", "--allow-root"], directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(30)
        var found: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            let output = process.output()
            if output.contains(" ready; ") {
                for line in output.split(separator: "\n") where line.hasPrefix("swiftmta: listening on ") {
                    let words = line.split(separator: " ")
                    if let portIndex = words.firstIndex(of: "port"), let port = Int(words[portIndex + 1]) {
                        found[String(words[portIndex + 2].dropFirst().prefix { $0.isLetter })] = port
                    }
                }
                break
            }
            if let status = process.exitStatus(within: .zero) {
                throw TestSupportError("swiftmta serve exited with \(status): \(output)")
            }
            usleep(50_000)
        }
        guard found.count == modes.count else {
            throw TestSupportError("swiftmta serve did not report its listeners: \(process.output())")
        }
        ports = found
    }

    subscript(mode: String) -> Int { ports[mode]! }

    /// What the server printed and logged so far.
    var output: String { process.output() }

    /// Stops the server (SIGTERM: a graceful shutdown, exit 0 expected) and reads what its
    /// spool holds: each message's envelope as lines (`sender <…>`, `recipient <…>`,
    /// `authenticated USER`, `auth VALUE`, `protocol NAME`) and its text.
    func stored() async throws -> [(envelope: String, text: String)] {
        process.send(signal: SIGTERM)
        let status = try await offThread { self.process.exitStatus(within: .seconds(60)) }
        guard status == 0 else { throw TestSupportError("swiftmta serve exited with \(String(describing: status)): \(output)") }
        let queue = try await MailQueue.open(directory: directory.file("var/spool"))
        var messages: [(envelope: String, text: String)] = []
        for message in queue.list().sorted(by: { $0.id.rawValue < $1.id.rawValue }) {
            let envelope = message.envelope
            var lines = ["sender \(envelope.reversePath)", "client [\(envelope.client.address ?? "")]", "protocol \(envelope.client.protocolName)"]
            if let user = envelope.client.authenticatedUser { lines.append("authenticated \(user)") }
            if let auth = envelope.mailParameters.authenticatedSender { lines.append("auth \(auth)") }
            lines += envelope.recipients.map { "recipient \($0.path)" }
            let text = try await queue.body(of: message.id).collect(upTo: 16 << 20)
            messages.append((lines.joined(separator: "\n"), String(buffer: text)))
        }
        await queue.close()
        return messages
    }

    /// Adds a user to `var/auth/passwd` with `swiftmta auth add`.
    static func addUser(_ user: String, password: String, in directory: TemporaryDirectory, plaintext: Bool = false) throws {
        try ExternalTool.runChecked(
            executable, ["auth", "add", "--file", directory.file("var/auth/passwd")] + (plaintext ? ["--store-plaintext"] : []) + [user],
            input: password + "\n")
    }

    deinit {
        process.stop()
    }
}

/// swaks, the Swiss Army knife for SMTP, against a local port; returns its whole transcript.
func swaks(_ port: Int, _ arguments: [String], localAddress: String? = nil) async throws -> ExternalTool.Output {
    var all = ["--server", "127.0.0.1:\(port)", "--timeout", "20", "--hide-informational"]
    if let localAddress { all += ["--local-interface", localAddress] }
    return try await ExternalTool.run("swaks", all + arguments, timeout: .seconds(60))
}

/// The configuration most tests start from: the embedded default's AUTH and TLS, in the folder.
let standardConfiguration = """
    [tls]
    certificate = "var/tls/cert.pem"
    key = "var/tls/key.pem"
    self_signed = true

    [auth]
    backend = "passwd:var/auth/passwd"
    mechanisms = ["SCRAM-SHA-256", "CRAM-MD5", "DIGEST-MD5", "PLAIN", "LOGIN"]
    options = ["p"]

    [smtp]
    command_timeout = "60s"
    shutdown_grace_period = "5s"
    """
