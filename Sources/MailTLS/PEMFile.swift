#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a PEM file whole, turning an unreadable file into a ``TLSConfigurationError`` that names it.
package enum PEMFile {
    /// The largest PEM file read: a certificate chain or a key is a few kilobytes; a CA bundle a few
    /// hundred. Anything larger is refused rather than read into memory.
    package static let maximumSize = 16 * 1024 * 1024

    /// The file's bytes in one buffer that is overwritten with zeros when released (a private key's
    /// PEM must not linger in freed memory). The buffer is sized from `fstat` and the file read
    /// straight into it, so no partial copy is left behind by a growing array or a read chunk.
    package static func read(_ path: String, what: String) throws(TLSConfigurationError) -> PEMBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TLSConfigurationError(.unreadableFile, path: path, message: "cannot open \(what) \(path): \(Self.reason())")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw TLSConfigurationError(.unreadableFile, path: path, message: "cannot read \(what) \(path): \(Self.reason())")
        }
        let tooLarge = TLSConfigurationError(
            .unreadableFile, path: path, message: "\(what) \(path) is larger than \(maximumSize) bytes; refusing to read it")
        guard Int(status.st_size) <= maximumSize else { throw tooLarge }
        // One byte more than the size, to see a file that grew since fstat (or a pipe, size 0).
        var buffer = PEMBuffer(capacity: max(Int(status.st_size), 0) + 1)
        while true {
            if buffer.count == buffer.capacity {
                guard buffer.capacity <= maximumSize else { throw tooLarge }
                buffer = buffer.grown(to: min(buffer.capacity * 2, maximumSize + 1))
            }
            let count = buffer.readMore(from: fd)
            if count < 0 {
                if errno == EINTR { continue }
                throw TLSConfigurationError(.unreadableFile, path: path, message: "cannot read \(what) \(path): \(Self.reason())")
            }
            if count == 0 { break }
        }
        return buffer
    }

    private static func reason() -> String {
        String(cString: strerror(errno))
    }
}

/// Bytes read from a PEM file, in memory this object owns and zeroes before freeing it.
package final class PEMBuffer {
    private let storage: UnsafeMutableRawBufferPointer
    /// How many bytes hold file contents.
    package private(set) var count = 0

    package init(capacity: Int) {
        storage = .allocate(byteCount: max(capacity, 1), alignment: 1)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        wipe()
        storage.deallocate()
    }

    /// The bytes allocated (for tests of the read: one allocation of the file's size plus one).
    package var capacity: Int { storage.count }

    /// Reads from `fd` into the free space; `read(2)`'s result.
    fileprivate func readMore(from fd: Int32) -> Int {
        let free = UnsafeMutableRawBufferPointer(rebasing: storage[count...])
        #if canImport(Glibc)
        let result = Glibc.read(fd, free.baseAddress, free.count)
        #elseif canImport(Musl)
        let result = Musl.read(fd, free.baseAddress, free.count)
        #else
        let result = Darwin.read(fd, free.baseAddress, free.count)
        #endif
        if result > 0 { count += result }
        return result
    }

    /// A larger buffer with the same contents; this one is wiped when released.
    fileprivate func grown(to capacity: Int) -> PEMBuffer {
        let larger = PEMBuffer(capacity: capacity)
        larger.storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<count]))
        larger.count = count
        return larger
    }

    /// Calls `body` with the contents; the pointer must not escape it.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[..<count]))
    }

    /// Whether the contents contain `word` (ASCII).
    func contains(_ word: String) -> Bool {
        let needle = Array(word.utf8)
        return withUnsafeBytes { bytes in
            guard !needle.isEmpty, bytes.count >= needle.count else { return false }
            for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
                if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
            }
            return false
        }
    }

    /// Overwrites every allocated byte with zeros, in a way the optimiser keeps.
    package func wipe() {
        guard let base = storage.baseAddress else { return }
        #if canImport(Darwin)
        _ = memset_s(base, storage.count, 0, storage.count)
        #else
        explicit_bzero(base, storage.count)
        #endif
        count = 0
    }
}
