#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a PEM file whole, turning an unreadable file into a ``TLSConfigurationError`` that names it.
enum PEMFile {
    /// The largest PEM file read: a certificate chain or a key is a few kilobytes; a CA bundle a few
    /// hundred. Anything larger is refused rather than read into memory.
    static let maximumSize = 16 * 1024 * 1024

    static func read(_ path: String, what: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw TLSConfigurationError(.unreadableFile, path: path, message: "cannot open \(what) \(path): \(reason)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw TLSConfigurationError(.unreadableFile, path: path, message: "cannot read \(what) \(path): \(reason)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumSize {
                throw TLSConfigurationError(
                    .unreadableFile, path: path,
                    message: "\(what) \(path) is larger than \(maximumSize) bytes; refusing to read it")
            }
        }
        return bytes
    }
}
