#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor of a mailbox file, closed when the value goes away; writes retry partial
/// writes and EINTR, and every failure names the path.
struct MailboxFile: ~Copyable {
    let descriptor: Int32
    let path: String

    /// Opens `path` with `flags` (and `mode` when it creates the file).
    init(path: String, flags: Int32, mode: mode_t = 0o600) throws(LocalDeliveryError) {
        let descriptor = open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .system("open", path: path, errno: errno) }
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(descriptor)
    }

    func append(_ bytes: borrowing [UInt8]) throws(LocalDeliveryError) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure != 0 { throw .system("write", path: path, errno: failure) }
    }

    /// Forces the file's data to the disk.
    func sync() throws(LocalDeliveryError) {
        guard fsync(descriptor) == 0 else { throw .system("fsync", path: path, errno: errno) }
    }

    /// Forces a folder's entries (a file just linked or renamed into it) to the disk.
    static func syncDirectory(_ path: String) throws(LocalDeliveryError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system("open", path: path, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .system("fsync", path: path, errno: errno) }
    }
}
