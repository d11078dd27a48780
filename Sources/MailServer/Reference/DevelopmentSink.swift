import NIOCore
import NIOPosix
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where accepted mail goes until the durable queue exists: one file per message in a folder,
/// written on NIO's blocking-I/O thread pool, never flushed to disk and never delivered. The 250
/// reply and the log say so, so that no one mistakes it for a mail server that delivers.
///
/// `ID.eml` holds the text as received (with the `Received:` header), `ID.envelope` the sender and
/// the recipients.
struct DevelopmentSink: MessageStore {
    let directory: String
    let threadPool: NIOThreadPool

    var logStatus: String { "development sink: stored in \(directory), NOT delivered" }

    var summary: String { "accepted mail goes to the development sink \(directory) and is NOT delivered (no queue yet)" }

    func acceptedReply(queueID: String) -> SMTPReply {
        SMTPReply(250, .success, "\(queueID) accepted into the development sink; NOT queued, will not be delivered")
    }

    /// Makes the folder (mode 0700) when it is missing.
    static func prepare(directory: String) throws(ServerFileError) {
        try FileSupport.makeDirectories(directory, mode: 0o700)
    }

    func beginMessage() async throws -> any MessageStoreWriter {
        let id = FileSupport.randomIdentifier()
        let path = "\(directory)/\(id).eml"
        let fd = try await threadPool.runIfActive { () throws -> Int32 in
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ServerFileError("cannot create \(path): \(String(cString: strerror(errno)))") }
            return fd
        }
        return DevelopmentSinkWriter(file: SinkFile(fd: fd), id: id, path: path, directory: directory, threadPool: threadPool)
    }
}

/// An open file descriptor, closed exactly once, at the latest when the value goes away.
final class SinkFile: @unchecked Sendable {
    private(set) var fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}

struct DevelopmentSinkWriter: MessageStoreWriter {
    let file: SinkFile
    let id: String
    let path: String
    let directory: String
    let threadPool: NIOThreadPool

    mutating func append(_ text: ByteBuffer) async throws {
        let file = file
        let path = path
        try await threadPool.runIfActive {
            try FileSupport.writeAll(text, to: file.fd, path: path)
        }
    }

    mutating func commit(_ envelope: MessageEnvelope) async throws -> String {
        let file = file
        let envelopePath = "\(directory)/\(id).envelope"
        var lines = ["sender \(envelope.sender)", "client [\(envelope.clientAddress)]", "protocol \(envelope.protocolName)"]
        if let user = envelope.authenticatedUser { lines.append("authenticated \(user)") }
        if let sender = envelope.mailParameters.authenticatedSender { lines.append("auth \(sender)") }
        lines += envelope.recipients.map { "recipient \($0.path)" }
        let text = ByteBuffer(string: lines.joined(separator: "\n") + "\n")
        try await threadPool.runIfActive {
            file.close()
            let fd = open(envelopePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ServerFileError("cannot create \(envelopePath): \(String(cString: strerror(errno)))") }
            defer { _ = Glibc.close(fd) }
            try FileSupport.writeAll(text, to: fd, path: envelopePath)
        }
        return id
    }

    mutating func abort() async {
        let file = file
        let path = path
        _ = try? await threadPool.runIfActive {
            file.close()
            unlink(path)
        }
    }
}
