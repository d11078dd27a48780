#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a whole file, or standard input, into memory with a size bound, and errors that name
/// the path (``BoundedFileError``): the one reader behind map files, password and credential
/// files, PEM keys and certificates, configuration files, and `swiftmta makemap`'s input.
///
/// The read is blocking (`open`, `fstat`, `read`): callers read at start-up, or on a
/// ``WorkerPool``. Memory stays bounded by the limit plus one byte, whatever the file claims or
/// does while it is read (a file that grows, a pipe). Buffers are never left behind with the
/// contents in them: when the buffer grows, the old one is zeroed before it is freed, so the
/// bytes of a private key live only in the array returned, which the caller wipes.
package enum BoundedFile {
    /// The contents of `path`, at most `limit` bytes.
    ///
    /// - Throws: ``BoundedFileError`` naming `path`: it cannot be opened or read, or it is larger
    ///   than `limit`.
    package static func read(_ path: String, limit: Int) throws(BoundedFileError) -> [UInt8] {
        try readWithStamp(path, limit: limit).bytes
    }

    /// The contents of `path`, at most `limit` bytes, with the stamp of the file read (taken with
    /// `fstat` on the open file, so it is the version the bytes came from).
    ///
    /// - Throws: ``BoundedFileError`` naming `path`.
    package static func readWithStamp(_ path: String, limit: Int) throws(BoundedFileError) -> (bytes: [UInt8], stamp: FileStamp) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BoundedFileError(path: path, reason: .cannotOpen(.current)) }
        defer { close(descriptor) }
        let stamp: FileStamp
        switch FileStamp.of(descriptor: descriptor) {
        case .success(let value): stamp = value
        case .failure(let error): throw BoundedFileError(path: path, reason: .cannotOpen(error))
        }
        guard stamp.size <= Int64(limit) else {
            // Too large, unless it cannot be read at all (a folder's size is that of its entries).
            var probe: UInt8 = 0
            if systemRead(descriptor, &probe, 1) < 0 { throw BoundedFileError(path: path, reason: .cannotRead(.current)) }
            throw BoundedFileError(path: path, reason: .tooLarge(limit: limit))
        }
        let bytes = try readAll(descriptor, name: path, expected: Int(stamp.size), limit: limit)
        return (bytes, stamp)
    }

    /// The contents of `path` as text: at most `limit` bytes of UTF-8 without a NUL.
    ///
    /// - Throws: ``BoundedFileError`` naming `path`, with ``BoundedFileError/Reason/notText`` for
    ///   bytes that are not UTF-8 or a NUL.
    package static func readText(_ path: String, limit: Int) throws(BoundedFileError) -> String {
        let bytes = try read(path, limit: limit)
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            throw BoundedFileError(path: path, reason: .notText)
        }
        return text
    }

    /// All of standard input, at most `limit` bytes (errors name it `standard input`).
    package static func readStandardInput(limit: Int) throws(BoundedFileError) -> [UInt8] {
        try readAll(STDIN_FILENO, name: "standard input", expected: 0, limit: limit)
    }

    /// Reads `descriptor` to its end into a buffer of at most `limit` + 1 bytes, starting at the
    /// size `fstat` gave (when it gave one).
    private static func readAll(_ descriptor: Int32, name: String, expected: Int, limit: Int) throws(BoundedFileError) -> [UInt8] {
        let ceiling = limit < Int.max ? limit + 1 : limit
        var bytes = [UInt8](repeating: 0, count: min(ceiling, expected > 0 ? expected + 1 : 65_536))
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count < ceiling else { break }
                let grown = min(ceiling, max(bytes.count * 2, 4096))
                var larger = [UInt8](repeating: 0, count: grown)
                larger.withUnsafeMutableBytes { target in
                    bytes.withUnsafeBytes { source in target.copyMemory(from: source) }
                }
                wipe(&bytes)
                bytes = larger
            }
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let error = POSIXErrorNumber.current
                wipe(&bytes)
                throw BoundedFileError(path: name, reason: .cannotRead(error))
            }
            if count == 0 { break }
            filled += count
        }
        guard filled <= limit else {
            wipe(&bytes)
            throw BoundedFileError(path: name, reason: .tooLarge(limit: limit))
        }
        // Shrinking in place keeps the storage: nothing is copied.
        bytes.removeSubrange(filled...)
        return bytes
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in _ = buffer.initializeMemory(as: UInt8.self, repeating: 0) }
    }
}

/// `read(2)`, at file scope where the name is not shadowed by ``BoundedFile/read(_:limit:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
