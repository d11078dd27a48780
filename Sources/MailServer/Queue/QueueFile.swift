#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A failed system call on a spool file: the call, the path and `errno`.
struct QueueIOError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    /// `ENOSPC` or `EDQUOT`: the file system is out of space (or quota).
    var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT }

    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Failures a test asks for: the next `n` writes or flushes of journal segments, or attempts to
/// make one, fail with an errno, as a failing disk (EIO) or a full one (ENOSPC) makes them. Used
/// where a real failing device cannot be made (device-mapper is not available to the tests);
/// out-of-space is tested on a real small file system where the test may mount one.
package final class QueueFaultInjection: Sendable {
    /// Which system call to fail.
    package enum Operation: Sendable {
        /// A write into a segment.
        case write
        /// A flush of a segment.
        case sync
        /// Making a new segment file (fails as a full file system makes it fail).
        case prepare
    }

    private let pending = Mutex<[(Operation, Int32, Int)]>([])
    /// Sees every write and flush of the spool's files, for a test that replays them as a power
    /// cut would have left them.
    let recorder: (any QueueIORecorder)?

    package init(recorder: (any QueueIORecorder)? = nil) {
        self.recorder = recorder
    }

    /// Makes the next `count` calls of `operation` fail with `code`.
    package func fail(_ operation: Operation, with code: Int32, count: Int = 1) {
        pending.withLock { $0.append((operation, code, count)) }
    }

    /// Forgets the failures not yet used.
    package func clear() {
        pending.withLock { $0.removeAll() }
    }

    /// The errno the call must fail with, if one was asked for.
    func consume(_ operation: Operation) -> Int32? {
        pending.withLock { list in
            guard let index = list.firstIndex(where: { $0.0 == operation }) else { return nil }
            let code = list[index].1
            list[index].2 -= 1
            if list[index].2 <= 0 { list.remove(at: index) }
            return code
        }
    }
}

/// What a power-cut test is told: each write once it returned, each flush as it starts and once it
/// returned.
package protocol QueueIORecorder: Sendable {
    func wrote(path: String, offset: Int, bytes: [UInt8])
    /// Returns a token for ``flushed(_:)``.
    func flushStarts(path: String) -> Int
    func flushed(_ token: Int)
}

/// The system calls of the spool, each turning a failure into a ``QueueIOError`` naming the path.
/// Only the journal's own threads call these: they block.
enum QueueFile {
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(QueueIOError) -> Int32 {
        while true {
            let descriptor = open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno == EINTR { continue }
            throw QueueIOError(operation: "open", path: path, code: errno)
        }
    }

    /// Writes all of `bytes` at `offset`.
    static func write(
        _ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String,
        faults: QueueFaultInjection?, inject: Bool = true
    ) throws(QueueIOError) {
        if inject, let code = faults?.consume(.write) { throw QueueIOError(operation: "write", path: path, code: code) }
        var done = 0
        while done < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw QueueIOError(operation: "write", path: path, code: errno)
            }
            done += result
        }
        faults?.recorder?.wrote(path: path, offset: offset, bytes: Array(bytes))
    }

    /// Reads `bytes.count` bytes at `offset`; returns how many were there (fewer at the end of the file).
    static func read(_ descriptor: Int32, into bytes: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(QueueIOError) -> Int {
        var done = 0
        while done < bytes.count {
            let result = pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw QueueIOError(operation: "read", path: path, code: errno)
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// `fdatasync`: the file's data (not its timestamps) is on the device when this returns.
    static func syncData(_ descriptor: Int32, path: String, faults: QueueFaultInjection?, inject: Bool = true) throws(QueueIOError) {
        if inject, let code = faults?.consume(.sync) { throw QueueIOError(operation: "fdatasync", path: path, code: code) }
        let token = faults?.recorder?.flushStarts(path: path)
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw QueueIOError(operation: "fdatasync", path: path, code: errno)
        }
        if let token { faults?.recorder?.flushed(token) }
    }

    /// `fsync` of a directory: the names created or renamed in it are on the device.
    static func syncDirectory(_ path: String) throws(QueueIOError) {
        let descriptor = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw QueueIOError(operation: "fsync", path: path, code: errno)
        }
    }

    /// Makes `path` a directory (mode 0700) unless it is one; `true` when it was created.
    @discardableResult
    static func makeDirectory(_ path: String) throws(QueueIOError) -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        let code = errno
        var status = stat()
        if code == EEXIST, stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { return false }
        throw QueueIOError(operation: "mkdir", path: path, code: code == EEXIST ? ENOTDIR : code)
    }

    /// Makes `path` and its missing parents, syncing each parent whose entry was added.
    static func makeDirectories(_ path: String) throws(QueueIOError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else { throw QueueIOError(operation: "mkdir", path: path, code: ENOTDIR) }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent) }
        if try makeDirectory(path) { try syncDirectory(parent) }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws(QueueIOError) -> [String] {
        guard let directory = opendir(path) else { throw QueueIOError(operation: "opendir", path: path, code: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    static func closeDescriptor(_ descriptor: Int32) {
        close(descriptor)
    }

    /// The current wall-clock time in microseconds since 1970.
    static func wallClockMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1_000_000 + UInt64(now.tv_nsec / 1000)
    }
}
