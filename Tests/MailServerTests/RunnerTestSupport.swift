import Foundation
import Logging
@testable import MailServer
import NIOCore
import SMTPProtocol
import Synchronization
import Testing
import TestSupport

/// Postfix's smtp-sink as a delivery destination, on a loopback port (or a Unix-domain socket),
/// counting what it takes; with `dump`, each message is written to a file.
final class DeliverySink: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int
    let directory: TemporaryDirectory
    let socket: String?

    init(_ options: [String] = [], dump: Bool = false, socket: String? = nil, port fixedPort: Int? = nil, endpoint fixedEndpoint: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-dsink")
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let folder = directory
        let chosenPort = socket == nil ? try fixedPort ?? LoopbackPort.free() : 0
        port = chosenPort
        let socketPath = socket.map { folder.file($0) }
        self.socket = socketPath
        let endpoint = fixedEndpoint ?? socketPath.map { "unix:" + $0 } ?? "127.0.0.1:\(chosenPort)"
        let dumpOptions = dump ? ["-d", directory.path + "/%H%M%S."] : []
        process = try BackgroundProcess(
            "/usr/bin/env",
            ["LD_LIBRARY_PATH=\(ExternalTool.postfixRoot)/usr/lib/postfix", "\(ExternalTool.postfixRoot)/usr/sbin/smtp-sink",
             "-c", "-u", "nobody"] + dumpOptions + options + [endpoint, "256"],
            directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(20)
        while !(socketPath.map { FileManager.default.fileExists(atPath: $0) } ?? (fixedEndpoint != nil ? true : LoopbackPort.isAccepting(chosenPort))) {
            guard ContinuousClock.now < deadline else {
                process.stop()
                throw TestSupportError("smtp-sink did not start: \(process.output())")
            }
            usleep(20_000)
        }
        if socketPath != nil || fixedEndpoint != nil { usleep(300_000) }
    }

    deinit { process.stop() }

    func stop() { process.stop() }

    /// The messages dumped so far.
    func dumped() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.first?.isNumber == true }.sorted().compactMap {
            try? String(contentsOfFile: directory.file($0), encoding: .utf8)
        }
    }

    /// How many messages smtp-sink counted (its `-c` counter, the last `mesg=N` it printed).
    var count: Int {
        let output = process.output()
        guard let range = output.range(of: "mesg=", options: .backwards) else { return 0 }
        return Int(output[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}

/// Python's aiosmtpd, with the SMTPClient tests' peer script.
final class SubmissionPeer: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int
    let log: String
    let directory: TemporaryDirectory

    static let script = "\(ExternalTool.repositoryRoot)/Tests/SMTPClientTests/Peers/aiosmtpd_peer.py"

    init(_ options: [String]) async throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-submission")
        log = directory.file("messages.jsonl")
        process = try BackgroundProcess("python3", [Self.script, "--log", log] + options, directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let output = process.output()
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }), let port = Int(line.dropFirst(5)) {
                self.port = port
                break
            }
            guard ContinuousClock.now < deadline else {
                process.stop()
                throw TestSupportError("aiosmtpd did not start: \(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    deinit { process.stop() }

    var messages: [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func text(of message: [String: Any]) -> String {
        guard let encoded = message["text"] as? String, let data = Data(base64Encoded: encoded) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A test CA and a server certificate for mx.example.test, localhost and 127.0.0.1.
final class DeliveryTestPKI: Sendable {
    let directory: TemporaryDirectory
    let caCertificate: String
    let serverCertificate: String
    let serverKey: String

    private static let cached: Result<DeliveryTestPKI, any Error> = Result { try DeliveryTestPKI() }

    static func shared() async throws -> DeliveryTestPKI { try await offThread { try cached.get() } }

    private init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-delivery-pki")
        let d = directory
        try d.write("ext.cnf", """
            [server]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:smarthost.example.test,DNS:localhost,IP:127.0.0.1
            """)
        caCertificate = d.file("ca.pem")
        serverCertificate = d.file("server.pem")
        serverKey = d.file("server.key")
        try ExternalTool.runChecked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d.file("ca.key"), "-out", caCertificate,
                                                "-days", "2", "-subj", "/O=SwiftMTA delivery tests/CN=Delivery Test CA",
                                                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try ExternalTool.runChecked("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", serverKey, "-out", d.file("server.csr"),
                                                "-subj", "/CN=smarthost.example.test"])
        try ExternalTool.runChecked("openssl", ["x509", "-req", "-in", d.file("server.csr"), "-CA", caCertificate, "-CAkey", d.file("ca.key"),
                                                "-CAcreateserial", "-out", serverCertificate, "-days", "2", "-extfile", d.file("ext.cnf"),
                                                "-extensions", "server"])
    }
}

/// A clock a test moves by hand: five days of retries take no time.
final class ManualQueueClock: QueueRunnerClock, @unchecked Sendable {
    private let state: Mutex<(now: QueueTimestamp, sleepers: [Int: CheckedContinuation<Void, any Error>], next: Int)>

    init(start: QueueTimestamp = QueueTimestamp(millisecondsSince1970: 1_796_000_000_000)) {
        state = Mutex((start, [:], 0))
    }

    func now() -> QueueTimestamp { state.withLock { $0.now } }

    /// Moves the clock and wakes every sleeper (each looks again at what is due).
    func advance(by duration: Duration) {
        let sleepers = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            defer { state.sleepers = [:] }
            return Array(state.sleepers.values)
        }
        for sleeper in sleepers { sleeper.resume() }
    }

    func sleep(until deadline: QueueTimestamp) async throws {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.now >= deadline || Task.isCancelled { return true }
                    state.sleepers[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.resume(throwing: CancellationError())
        }
    }
}

/// The runner in this process over a spool in a temporary folder, with a configuration from TOML
/// text and a hand-moved clock.
final class RunnerHarness: @unchecked Sendable {
    let directory: TemporaryDirectory
    let queue: MailQueue
    let runner: QueueRunner
    let clock: ManualQueueClock
    let configuration: SwiftMTAConfiguration
    private let task: Task<Void, Never>
    let logs = LogCapture()

    init(_ text: String, hostname: String = "mx.example.test") async throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-runner")
        let file = try directory.write("swiftmta.toml", "hostname = \"\(hostname)\"\nlocal_users = \"any\"\n" + text + "\n[local]\nmail_directory = \"var/mail\"\n")
        let (checked, errors) = SwiftMTAConfiguration.check(path: file)
        guard let checked, errors.isEmpty else { throw TestSupportError("configuration: \(errors)") }
        var configuration = checked
        configuration.queue.directory = directory.file("var/spool")
        self.configuration = configuration
        let registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
        let router = try RoutingSetup.router(for: configuration, registry: registry)
        var setupErrors: [ConfigurationError] = []
        let setup = DeliverySetup.make(configuration, registry: registry, router: router, errors: &setupErrors)
        guard setupErrors.isEmpty else { throw TestSupportError("delivery set-up: \(setupErrors)") }
        queue = try await MailQueue.open(directory: configuration.queue.directory, configuration: QueueFixture.configuration(), logger: QueueFixture.logger)
        clock = ManualQueueClock()
        let capture = logs
        let logger = Logger(label: "swiftmta.runner.test") { _ in capture }
        runner = setup.makeRunner(queue: queue, clock: clock, logger: logger)
        let runner = runner
        task = Task { await runner.run() }
    }

    func close() async {
        await runner.shutdown()
        await task.value
        await queue.close()
    }

    /// Commits a message from `sender` to `recipients` (with NOTIFY and RET as given) and hands it
    /// to the runner, as the server does; its arrival is the clock's now.
    @discardableResult
    func submit(
        from sender: String?, to recipients: [String], text: String, notify: DSNNotify? = nil, ret: DSNReturn? = nil,
        client: String? = "192.0.2.1"
    ) async throws -> QueueID {
        let writer = try queue.beginMessage()
        try await writer.append(ByteBuffer(string: text))
        var parameters = MailParameters()
        parameters.dsnReturn = ret
        let envelope = QueueEnvelope(
            reversePath: ReversePath(mailbox: try sender.map { try Mailbox(parsing: $0) }), mailParameters: parameters,
            recipients: try recipients.map {
                SMTPEnvelope.Recipient(ForwardPath(mailbox: try Mailbox(parsing: $0)), parameters: RecipientParameters(notify: notify))
            },
            client: QueueEnvelope.Client(address: client, heloName: "client.example", protocolName: "ESMTP"),
            receivedAt: clock.now())
        let id = try await writer.commit(envelope)
        runner.submitted(id)
        return id
    }

    /// Waits (real time, at most `timeout`) until `condition` holds.
    func wait(_ what: String, timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw TestSupportError("timed out waiting for \(what); log:\n\(logs.text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The state of recipient `index` of `id`, `nil` when the message is gone.
    func state(_ id: QueueID, _ index: Int = 0) -> QueueRecipientStatus? {
        queue.message(id)?.recipients[index]
    }

    /// The messages in a local user's Maildir, read by Python's mailbox package: each one's
    /// headers and body as JSON.
    func mailbox(_ user: String) throws -> [[String: Any]] {
        try MailboxReader.maildir(directory.file("var/mail/\(user)"))
    }
}

/// Reads mailboxes with Python's mailbox and email packages.
enum MailboxReader {
    static let script = """
        import json, mailbox, sys, email.policy
        kind, path = sys.argv[1], sys.argv[2]
        box = mailbox.Maildir(path, factory=None, create=False) if kind == "maildir" else mailbox.mbox(path, create=False)
        out = []
        for key in sorted(box.keys()):
            msg = box.get_message(key) if kind == "maildir" else box[key]
            parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
            parts = []
            for part in parsed.walk():
                parts.append({"type": part.get_content_type(),
                              "text": part.get_payload(decode=True).decode("utf-8", "replace") if not part.is_multipart() and part.get_content_maintype() == "text" else None})
            report = []
            for part in parsed.walk():
                if part.get_content_type() == "message/delivery-status":
                    for block in part.get_payload():
                        report.append({k: str(v) for k, v in block.items()})
            out.append({"headers": {k: str(v) for k, v in parsed.items()}, "type": parsed.get_content_type(),
                        "body": parsed.get_body(preferencelist=("plain",)).get_content() if parsed.get_body(preferencelist=("plain",)) else "",
                        "parts": parts, "report": report, "from_line": msg.get_from() if kind == "mbox" else None})
        print(json.dumps(out))
        """

    static func read(_ kind: String, _ path: String) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let output = try ExternalTool.runChecked("python3", ["-c", script, kind, path])
        return (try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [[String: Any]]) ?? []
    }

    static func maildir(_ path: String) throws -> [[String: Any]] { try read("maildir", path) }
    static func mbox(_ path: String) throws -> [[String: Any]] { try read("mbox", path) }
}

/// A swift-log handler that keeps the lines, for a test to read.
final class LogCapture: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.withLock { $0.append("\(event.level) \(event.message)") }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}
