#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An mbox file (mbox(5)): messages one after another, each opened by a `From sender date` line,
/// with lines that would read as such a line escaped (mboxrd: one more `>`).
///
/// Two locks guard the file, as mail.local and the mail readers that share it expect: a dot-lock
/// (`FILE.lock`, made with `O_EXCL`; one older than ``staleLockAge`` is taken to be left by a crash
/// and removed) and an `fcntl` write lock on the file itself. Where the folder does not let the server
/// create the dot-lock, the `fcntl` lock alone is used. When either lock is not had within
/// ``lockTimeout`` the delivery fails temporarily (`4.2.0` mailbox busy) and is retried later.
///
/// The message is appended, forced to the disk, and only then reported delivered; when anything
/// fails half way the file is cut back to the length it had, so no half message is left in it.
///
/// The calls block (locks, writes, fsync): run them on a worker thread, never on an event loop.
public struct MboxMailbox: Sendable {
    /// The mbox file; made with mode 0600 when missing.
    public let path: String
    /// How long to wait for the locks.
    public var lockTimeout: Duration
    /// How old a dot-lock must be to be removed as stale: five minutes, as mail.local.
    public var staleLockAge: Duration

    /// The mbox file at `path`, locked for each delivery (waiting at most `lockTimeout`; a dot-lock
    /// older than `staleLockAge` is taken as left behind).
    public init(path: String, lockTimeout: Duration = .seconds(30), staleLockAge: Duration = .seconds(300)) {
        self.path = path
        self.lockTimeout = lockTimeout
        self.staleLockAge = staleLockAge
    }

    /// Appends `message`; `date` (seconds since 1970) is the `From ` line's time, now by default.
    public func deliver(_ message: LocalMessage, date: UInt64? = nil) throws(LocalDeliveryError) {
        let date = date ?? UInt64(time(nil))
        let deadline = ContinuousClock.now + lockTimeout
        let dotLock = try acquireDotLock(until: deadline)
        defer { if let dotLock { unlink(dotLock) } }

        let file = try MailboxFile(path: path, flags: O_WRONLY | O_CREAT | O_APPEND)
        var status = stat()
        guard fstat(file.descriptor, &status) == 0 else { throw .system("fstat", path: path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw LocalDeliveryError(
                isTemporary: false, status: EnhancedStatusCode(5, 2, 0)!, message: "\(path) is not a regular file")
        }
        try lockFile(file, until: deadline)
        // The length to cut back to, read under the lock.
        guard fstat(file.descriptor, &status) == 0 else { throw .system("fstat", path: path, errno: errno) }
        let originalLength = status.st_size
        do {
            // A file that does not end with a blank line (another program's truncated append) would
            // run into this message's From line: separate them.
            var separator: [UInt8] = originalLength > 0 && !endsWithNewline(file, length: originalLength) ? [10] : []
            separator += Array("From \(message.envelopeSenderName) \(Self.asctime(date))\n".utf8)
            try file.append(separator + message.traceHeaders)
            var encoder = LocalLineEncoder(escapesFromLines: true)
            try message.copyText(encoder: &encoder) { bytes throws(LocalDeliveryError) in try file.append(bytes) }
            try file.append([10])
            try file.sync()
        } catch {
            _ = ftruncate(file.descriptor, originalLength)
            _ = fsync(file.descriptor)
            throw error
        }
    }

    /// Makes `FILE.lock`, waiting for another holder until `deadline`; `nil` when the folder does not
    /// let us make it (the fcntl lock must do).
    private func acquireDotLock(until deadline: ContinuousClock.Instant) throws(LocalDeliveryError) -> String? {
        let lock = path + ".lock"
        while true {
            let descriptor = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                close(descriptor)
                return lock
            }
            switch errno {
            case EEXIST:
                var status = stat()
                if stat(lock, &status) == 0,
                   Int64(time(nil)) - Int64(status.st_mtim.tv_sec) > staleLockAge.components.seconds {
                    unlink(lock)
                    continue
                }
            case EACCES, EPERM, EROFS:
                return nil
            default:
                throw .system("open", path: lock, errno: errno)
            }
            guard ContinuousClock.now < deadline else {
                throw LocalDeliveryError(
                    isTemporary: true, status: EnhancedStatusCode(4, 2, 0)!,
                    message: "\(path) is locked by another program (\(lock))")
            }
            usleep(50_000)
        }
    }

    private func lockFile(_ file: borrowing MailboxFile, until deadline: ContinuousClock.Instant) throws(LocalDeliveryError) {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        while fcntl(file.descriptor, F_SETLK, &lock) != 0 {
            guard errno == EACCES || errno == EAGAIN || errno == EINTR else {
                throw .system("lock", path: path, errno: errno)
            }
            guard ContinuousClock.now < deadline else {
                throw LocalDeliveryError(
                    isTemporary: true, status: EnhancedStatusCode(4, 2, 0)!,
                    message: "\(path) is locked by another program")
            }
            usleep(50_000)
        }
    }

    private func endsWithNewline(_ file: borrowing MailboxFile, length: off_t) -> Bool {
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { return true }
        defer { close(reader) }
        var byte: UInt8 = 0
        return pread(reader, &byte, 1, length - 1) == 1 && byte == 10
    }

    /// `Tue Dec  1 09:03:41 2026`, in UTC, as the From line has it.
    static func asctime(_ seconds: UInt64) -> String {
        var value = time_t(seconds)
        var parts = tm()
        gmtime_r(&value, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S %Y", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

import SMTPProtocol
