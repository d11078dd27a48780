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
        let opened = try openChecked(path, limit: limit)
        defer { close(opened.descriptor) }
        let target: ArrayTarget = try readAll(opened.descriptor, name: path, expected: Int(opened.stamp.size), limit: limit)
        return (target.contents(), opened.stamp)
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
        let target: ArrayTarget = try readAll(STDIN_FILENO, name: "standard input", expected: 0, limit: limit)
        return target.contents()
    }

    /// The contents of `path`, at most `limit` bytes, in a ``WipingBuffer``: for secrets (private
    /// keys), which must not linger in freed memory.
    ///
    /// - Throws: ``BoundedFileError`` naming `path`.
    package static func readWiping(_ path: String, limit: Int) throws(BoundedFileError) -> WipingBuffer {
        let descriptor = try openChecked(path, limit: limit)
        defer { close(descriptor.descriptor) }
        return try readAll(descriptor.descriptor, name: path, expected: Int(descriptor.stamp.size), limit: limit)
    }

    /// Opens `path` and takes its stamp; refuses a file whose size already exceeds `limit`.
    private static func openChecked(_ path: String, limit: Int) throws(BoundedFileError) -> (descriptor: Int32, stamp: FileStamp) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BoundedFileError(path: path, reason: .cannotOpen(.current)) }
        let stamp: FileStamp
        switch FileStamp.of(descriptor: descriptor) {
        case .success(let value): stamp = value
        case .failure(let error):
            close(descriptor)
            throw BoundedFileError(path: path, reason: .cannotOpen(error))
        }
        guard stamp.size <= Int64(limit) else {
            // Too large, unless it cannot be read at all (a folder's size is that of its entries).
            var probe: UInt8 = 0
            let unreadable = systemRead(descriptor, &probe, 1) < 0 ? POSIXErrorNumber.current : nil
            close(descriptor)
            if let unreadable { throw BoundedFileError(path: path, reason: .cannotRead(unreadable)) }
            throw BoundedFileError(path: path, reason: .tooLarge(limit: limit))
        }
        return (descriptor, stamp)
    }

    /// Reads `descriptor` to its end into a buffer of at most `limit` + 1 bytes, starting at the
    /// size `fstat` gave (when it gave one), growing it by doubling otherwise.
    private static func readAll<Target: BoundedFileTarget>(
        _ descriptor: Int32, name: String, expected: Int, limit: Int
    ) throws(BoundedFileError) -> Target {
        let ceiling = limit < Int.max ? limit + 1 : limit
        let target = Target.make(capacity: min(ceiling, expected > 0 ? expected + 1 : 65_536))
        while true {
            if target.filled == target.capacity {
                guard target.capacity < ceiling else { break }
                target.grow(to: min(ceiling, max(target.capacity * 2, 4096)))
            }
            let count = target.withFreeSpace { free in systemRead(descriptor, free.baseAddress!, free.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let error = POSIXErrorNumber.current
                target.wipe()
                throw BoundedFileError(path: name, reason: .cannotRead(error))
            }
            if count == 0 { break }
        }
        guard target.filled <= limit else {
            target.wipe()
            throw BoundedFileError(path: name, reason: .tooLarge(limit: limit))
        }
        return target
    }
}

/// Where ``BoundedFile`` reads to: a byte array, or a ``WipingBuffer``.
protocol BoundedFileTarget: AnyObject {
    static func make(capacity: Int) -> Self
    var capacity: Int { get }
    var filled: Int { get }
    /// Calls `body` with the free space and counts what it reports as read.
    func withFreeSpace(_ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int
    /// Moves the contents into `capacity` bytes, zeroing the old ones.
    func grow(to capacity: Int)
    /// Zeroes what was read.
    func wipe()
}

/// A byte array being filled, for ``BoundedFile/read(_:limit:)``.
private final class ArrayTarget: BoundedFileTarget {
    var bytes: [UInt8]
    var filled = 0

    init(capacity: Int) { bytes = [UInt8](repeating: 0, count: max(capacity, 1)) }
    static func make(capacity: Int) -> ArrayTarget { ArrayTarget(capacity: capacity) }
    var capacity: Int { bytes.count }

    func withFreeSpace(_ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        let start = filled
        let read = bytes.withUnsafeMutableBytes { body(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        if read > 0 { filled += read }
        return read
    }

    func grow(to capacity: Int) {
        var larger = [UInt8](repeating: 0, count: capacity)
        larger.withUnsafeMutableBytes { target in
            bytes.withUnsafeBytes { source in target.copyMemory(from: source) }
        }
        wipe()
        bytes = larger
    }

    func wipe() {
        bytes.withUnsafeMutableBytes { buffer in _ = buffer.initializeMemory(as: UInt8.self, repeating: 0) }
    }

    /// The contents; shrinking in place keeps the storage, so nothing is copied.
    func contents() -> [UInt8] {
        bytes.removeSubrange(filled...)
        return bytes
    }
}

/// `read(2)`, at file scope where the name is not shadowed by ``BoundedFile/read(_:limit:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
