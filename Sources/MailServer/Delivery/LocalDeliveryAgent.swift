import NIOCore
import NIOPosix
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The local mailer: stores a message in a local user's mailbox under the mail directory —
/// a Maildir (`DIR/USER/{tmp,new,cur}`) or an mbox file (`DIR/USER`) — on threads of its own,
/// since every step blocks (writes, fsync, locks). A message up to ``bufferedLimit`` is read from
/// the spool first and written from memory; a larger one is read as it is written.
struct LocalDeliveryAgent: Sendable {
    let mailDirectory: String
    let format: DeliverySettings.MailboxFormat
    let hostname: String
    let pool: NIOThreadPool

    /// Messages up to this size are read whole before they are written.
    static let bufferedLimit = 1 << 20

    /// Stores the message for `user` (a name checked to be a file name); the path it went to.
    func deliver(
        user: String, recipient: String, reversePath: ReversePath, body: QueueMessageBody
    ) async throws(LocalDeliveryError) -> String {
        let path = mailDirectory + "/" + user
        let reader: ChunkSource
        if body.size <= Self.bufferedLimit {
            do {
                reader = .buffered(try await body.collect(upTo: Self.bufferedLimit))
            } catch {
                throw LocalDeliveryError(isTemporary: true, status: .temporarySystemError, message: "reading the queued message: \(error)")
            }
        } else {
            reader = .streamed(BlockingChunkReader(body))
        }
        let format = format
        let hostname = hostname
        let directory = mailDirectory
        let outcome: Result<String, LocalDeliveryError>
        do {
            outcome = try await pool.runIfActive {
                Self.write(path: path, directory: directory, format: format, hostname: hostname, recipient: recipient, reversePath: reversePath, reader: reader)
            }
        } catch {
            throw LocalDeliveryError(isTemporary: true, status: .temporarySystemError, message: "the local delivery threads are stopped")
        }
        return try outcome.get()
    }

    /// Where the text comes from on the worker thread.
    enum ChunkSource: Sendable {
        case buffered(ByteBuffer)
        case streamed(BlockingChunkReader)
    }

    private static func write(
        path: String, directory: String, format: DeliverySettings.MailboxFormat, hostname: String, recipient: String,
        reversePath: ReversePath, reader: ChunkSource
    ) -> Result<String, LocalDeliveryError> {
        defer { if case .streamed(let stream) = reader { stream.cancel() } }
        var next: () throws -> [UInt8]?
        switch reader {
        case .buffered(let buffer):
            var remaining = buffer
            next = {
                guard remaining.readableBytes > 0 else { return nil }
                return remaining.readBytes(length: min(remaining.readableBytes, 1 << 16))
            }
        case .streamed(let stream):
            next = { try stream.next() }
        }
        let message = LocalMessage(reversePath: reversePath, recipient: recipient, nextChunk: { try next() })
        do throws(LocalDeliveryError) {
            try makeDirectories(directory)
            switch format {
            case .maildir:
                return .success(try MaildirMailbox(directory: path, hostname: hostname).deliver(message))
            case .mbox:
                try MboxMailbox(path: path).deliver(message)
                return .success(path)
            }
        } catch {
            return .failure(error)
        }
    }

    /// Makes the mail directory and its missing parents (mode 0755: users' mailboxes below it are 0700).
    private static func makeDirectories(_ path: String) throws(LocalDeliveryError) {
        var status = stat()
        if stat(path, &status) == 0 { return }
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw .system("mkdir", path: current, errno: errno)
            }
        }
    }
}
