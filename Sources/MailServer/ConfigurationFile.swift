#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a configuration file whole, with errors that say why it could not be read.
enum ConfigurationFile {
    /// Configuration files larger than this are refused (a configuration is a few kilobytes).
    static let maximumSize = 4 * 1024 * 1024

    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws(ReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(description: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(description: "cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > maximumSize { throw ReadError(description: "larger than \(maximumSize) bytes") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReadError(description: "not UTF-8 text")
        }
        return text
    }
}
