import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few POSIX file operations the server's own files need (folders under `./var`,
/// the password file), with errors that name the path. Blocking: call them at
/// start-up, from a command, or on a thread pool.
enum FileSupport {
    /// `mkdir -p` with `mode` for the folders it makes.
    static func makeDirectories(_ path: String, mode: mode_t) throws(ServerFileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0, errno != EEXIST {
                throw ServerFileError("cannot make the folder \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes all of `buffer` to `fd`.
    static func writeAll(_ buffer: ByteBuffer, to fd: Int32, path: String) throws(ServerFileError) {
        var remaining = buffer
        while remaining.readableBytes > 0 {
            let written = remaining.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ServerFileError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            remaining.moveReaderIndex(forwardBy: written)
        }
    }

    /// Writes `text` to `path` atomically (a temporary file beside it, synced, renamed over it)
    /// with `mode`.
    static func writeAtomically(_ text: String, to path: String, mode: mode_t) throws(ServerFileError) {
        let temporary = "\(path).tmp-\(randomIdentifier())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ServerFileError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do throws(ServerFileError) {
            try writeAll(ByteBuffer(string: text), to: fd, path: temporary)
            guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
                throw ServerFileError("cannot sync \(temporary): \(String(cString: strerror(errno)))")
            }
        } catch {
            _ = close(fd)
            unlink(temporary)
            throw error
        }
        _ = close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ServerFileError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    /// Twelve random characters from [0-9A-Za-z], for temporary file names.
    static func randomIdentifier() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// A file of the server's own that cannot be made, written or read, with the path and the
/// system's reason.
struct ServerFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
