import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Maildir (maildir(5), as qmail defines it): a folder with `tmp/`, `new/` and `cur/`, one file per
/// message. Delivery never locks and never leaves a half message where a reader looks.
///
/// Delivery writes the message to `tmp/` under a name no other delivery can choose
/// (`seconds.MmicrosecondsPpidQcounter.host`), forces it to the disk, links it into `new/`, forces
/// `new/` to the disk, and removes the `tmp/` name. Only after the last step does ``deliver(_:)``
/// return, so a message reported as delivered survives a crash; a crash before it leaves at most a
/// file in `tmp/`, which readers ignore.
///
/// The calls block (file writes and fsync): run them on a worker thread, never on an event loop.
public struct MaildirMailbox: Sendable {
    /// The Maildir's folder; it and its three subfolders are made (mode 0700) when missing.
    public let directory: String
    /// The host name written into file names (its `/` and `:` escaped as maildir(5) says).
    public let hostname: String

    /// The Maildir at `directory`; `hostname` goes into each file's unique name.
    public init(directory: String, hostname: String) {
        self.directory = directory
        self.hostname = hostname
    }

    private static let counter = Atomic<Int>(0)

    /// Stores `message` and returns the path of its file in `new/`.
    @discardableResult
    public func deliver(_ message: LocalMessage) throws(LocalDeliveryError) -> String {
        try prepare()
        let name = uniqueName()
        let temporary = "\(directory)/tmp/\(name)"
        let final = "\(directory)/new/\(name)"
        do {
            let file = try MailboxFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL)
            try file.append(message.traceHeaders)
            var encoder = LocalLineEncoder(escapesFromLines: false)
            try message.copyText(encoder: &encoder) { bytes throws(LocalDeliveryError) in try file.append(bytes) }
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        guard link(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("link", path: final, errno: code)
        }
        do {
            try MailboxFile.syncDirectory("\(directory)/new")
        } catch {
            // Not known to be on the disk: take it back, so the delivery is retried, not doubted.
            unlink(final)
            unlink(temporary)
            throw error
        }
        unlink(temporary)
        return final
    }

    /// Makes the folder and its subfolders when they do not exist.
    private func prepare() throws(LocalDeliveryError) {
        var created = false
        for path in [directory, "\(directory)/tmp", "\(directory)/new", "\(directory)/cur"] {
            if mkdir(path, 0o700) == 0 {
                created = true
                continue
            }
            guard errno == EEXIST else { throw .system("mkdir", path: path, errno: errno) }
            var status = stat()
            guard stat(path, &status) == 0 else { throw .system("stat", path: path, errno: errno) }
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw LocalDeliveryError(
                    isTemporary: false, status: EnhancedStatusCode(5, 2, 0)!,
                    message: "\(path) is not a folder, so \(directory) is not a Maildir")
            }
        }
        if created {
            // New folders must survive a crash too, or the first message's entry could vanish with them.
            try MailboxFile.syncDirectory(directory)
            if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
                try MailboxFile.syncDirectory(String(directory[..<slash]))
            }
        }
    }

    private func uniqueName() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let sequence = Self.counter.add(1, ordering: .relaxed).newValue
        let host = hostname.replacing("/", with: "\\057").replacing(":", with: "\\072")
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(sequence).\(host)"
    }
}

import SMTPProtocol
