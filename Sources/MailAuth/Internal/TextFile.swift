#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads small configuration and credential files with POSIX calls (blocking; callers read at
/// start-up), with a size bound and errors that name the file.
enum TextFile {
    static func read(_ path: String, limit: Int) throws(SASLError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SASLError(.configuration, "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SASLError(.configuration, "\(path): cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= limit else {
                throw SASLError(.configuration, "\(path): larger than \(limit) octets")
            }
        }
        guard Bytes.isValidUTF8(bytes), !bytes.contains(0) else {
            throw SASLError(.configuration, "\(path): not UTF-8 text")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Musl)
private let systemRead = Musl.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif
