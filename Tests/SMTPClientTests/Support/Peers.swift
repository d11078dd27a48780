import Foundation
import NIOCore
import SMTPClient
import SMTPProtocol
import TestSupport

/// Where the peer scripts live.
enum PeerScripts {
    static let directory = "\(ExternalTool.repositoryRoot)/Tests/SMTPClientTests/Peers"
}

/// A server the tests start on loopback: a program that prints `PORT n` once it listens.
final class LoopbackPeer: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int
    let directory: TemporaryDirectory

    /// Starts `executable` with `arguments` and waits until it says which port it listens on.
    init(_ executable: String, _ arguments: [String], directory: TemporaryDirectory? = nil) async throws {
        self.directory = try directory ?? TemporaryDirectory(prefix: "swiftmta-peer")
        process = try BackgroundProcess(executable, arguments, directory: self.directory.path)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let output = process.output()
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }), let port = Int(line.dropFirst(5)) {
                self.port = port
                break
            }
            guard ContinuousClock.now < deadline else {
                process.stop()
                throw TestSupportError("\(executable) did not start: \(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    deinit { process.stop() }

    /// Python's aiosmtpd (see Peers/aiosmtpd_peer.py for the options).
    static func aiosmtpd(_ options: [String] = []) async throws -> (LoopbackPeer, log: String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-aiosmtpd")
        let log = directory.file("messages.jsonl")
        let peer = try await LoopbackPeer("python3", ["\(PeerScripts.directory)/aiosmtpd_peer.py", "--log", log] + options, directory: directory)
        return (peer, log)
    }

    /// The scripted server of Peers/scripted_peer.py.
    static func scripted(_ scenario: String, tls: ClientTestPKI? = nil) async throws -> (LoopbackPeer, log: String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-scripted")
        let log = directory.file("session.log")
        var arguments = ["\(PeerScripts.directory)/scripted_peer.py", scenario, "--log", log]
        if let tls { arguments += ["--certificate", tls.serverCertificate, "--key", tls.serverKey] }
        let peer = try await LoopbackPeer("python3", arguments, directory: directory)
        return (peer, log)
    }

    /// The messages aiosmtpd took, one JSON object each.
    static func messages(in log: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The text of a logged message.
    static func text(of message: [String: Any]) -> String {
        guard let encoded = message["text"] as? String, let data = Data(base64Encoded: encoded) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Postfix's smtp-sink from the unpacked package in .tools/postfix, on a free loopback port.
final class SmtpSink: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int
    let directory: TemporaryDirectory

    /// `options` are smtp-sink's (`-p` no PIPELINING, `-L` LMTP, `-Q rcpt` 421 after RCPT, …);
    /// with `dump`, every message is written to a file in ``directory``.
    /// With `socket`, smtp-sink listens on that Unix-domain socket in ``directory`` instead.
    init(_ options: [String] = [], dump: Bool = false, socket: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-sink")
        port = socket == nil ? try LoopbackPort.free() : 0
        // smtp-sink writes its dumps as the unprivileged user it switches to.
        if dump { try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path) }
        let dumpOptions = dump ? ["-d", directory.path + "/%H%M%S."] : []
        let folder = directory
        let endpoint = socket.map { "unix:" + folder.file($0) } ?? "127.0.0.1:\(port)"
        process = try BackgroundProcess(
            "/usr/bin/env",
            ["LD_LIBRARY_PATH=\(ExternalTool.postfixRoot)/usr/lib/postfix", "\(ExternalTool.postfixRoot)/usr/sbin/smtp-sink",
             "-u", "nobody"] + dumpOptions + options + [endpoint, "64"],
            directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(20)
        let socketPath = socket.map { folder.file($0) }
        let port = self.port
        while socketPath.map({ !Self.isAccepting(socket: $0) }) ?? !LoopbackPort.isAccepting(port) {
            guard ContinuousClock.now < deadline else {
                process.stop()
                throw TestSupportError("smtp-sink did not start: \(process.output())")
            }
            usleep(20_000)
        }
    }

    deinit { process.stop() }

    /// Whether something accepts connections on the Unix-domain socket at `path` (the file
    /// appears at bind(2), before listen(2)).
    static func isAccepting(socket path: String) -> Bool {
        let descriptor = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }

    /// The messages smtp-sink dumped, as files.
    func dumpedMessages() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.contains(".") && $0 != "output" }.sorted().compactMap {
            try? String(contentsOfFile: directory.file($0), encoding: .utf8)
        }
    }
}

/// A TCP port on loopback that accepts connections (the kernel completes the handshake) and
/// never says anything: the greeting never comes.
final class SilentTCPPort: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw TestSupportError("bind/listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Shorthands for the tests.
enum Mail {
    static func mailbox(_ text: String) -> Mailbox { try! Mailbox(parsing: text) }
    static func envelope(from sender: String?, to recipients: [String], parameters: MailParameters = MailParameters()) -> SMTPEnvelope {
        SMTPEnvelope(
            reversePath: ReversePath(mailbox: sender.map(mailbox)), parameters: parameters,
            recipients: recipients.map { SMTPEnvelope.Recipient(ForwardPath(mailbox: mailbox($0))) })
    }

    /// A client configuration for loopback tests: short timeouts, a name for EHLO.
    static func configuration(timeout: Duration = .seconds(20)) -> SMTPClientConfiguration {
        var configuration = SMTPClientConfiguration(hostname: "client.example.test")
        configuration.timeouts = SMTPClientTimeouts(every: timeout)
        return configuration
    }

    /// A body delivered in pieces with a pause before each, as a slow producer would.
    struct SlowPieces: AsyncSequence {
        typealias Element = ByteBuffer
        let pieces: [ByteBuffer]
        let pause: Duration
        struct AsyncIterator: AsyncIteratorProtocol {
            var pieces: ArraySlice<ByteBuffer>
            let pause: Duration
            mutating func next() async throws -> ByteBuffer? {
                guard let piece = pieces.popFirst() else { return nil }
                try await Task.sleep(for: pause)
                return piece
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pieces: pieces[...], pause: pause) }
    }

    static func slowPieces(_ text: String, size: Int, pause: Duration) -> SlowPieces {
        let bytes = Array(text.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: size).map { ByteBuffer(bytes: bytes[$0..<min($0 + size, bytes.count)]) }
        return SlowPieces(pieces: pieces, pause: pause)
    }

    /// A body delivered in pieces, as an application's stream would.
    static func pieces(_ text: String, size: Int) -> AsyncStream<ByteBuffer> {
        let bytes = Array(text.utf8)
        return AsyncStream { continuation in
            var index = 0
            while index < bytes.count {
                continuation.yield(ByteBuffer(bytes: bytes[index..<min(index + size, bytes.count)]))
                index += size
            }
            continuation.finish()
        }
    }
}
