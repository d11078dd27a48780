#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What identifies one version of a file: device, inode, size and modification time. A map
/// reads its file again when this changes.
package struct FileStamp: Hashable, Sendable {
    package let device: UInt64
    package let inode: UInt64
    package let size: Int64
    package let modifiedSeconds: Int64
    package let modifiedNanoseconds: Int64

    /// The stamp of `path` now, or the `errno` of a failed `stat`.
    package static func of(_ path: String) -> Result<FileStamp, POSIXErrorNumber> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(POSIXErrorNumber(errno)) }
        return .success(FileStamp(info))
    }

    /// The stamp of an open file.
    package static func of(descriptor: Int32) -> Result<FileStamp, POSIXErrorNumber> {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(POSIXErrorNumber(errno)) }
        return .success(FileStamp(info))
    }

    private init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
    }
}

/// An `errno` value, with the system's text for it.
package struct POSIXErrorNumber: Error, Hashable, Sendable, CustomStringConvertible {
    package let code: Int32
    package init(_ code: Int32) { self.code = code }
    package var description: String { String(cString: strerror(code)) }
    package var isNoSuchFile: Bool { code == ENOENT || code == ENOTDIR }
    package var isTooLarge: Bool { code == EFBIG }
}

/// Reading whole files with POSIX calls.
package enum POSIXFile {
    /// The contents of `path` and their stamp, read with `open`/`fstat`/`read`.
    ///
    /// - Throws: the `errno` of the failing call; `EFBIG` when the file is larger than `limit`.
    package static func read(_ path: String, limit: Int) throws(POSIXErrorNumber) -> (bytes: [UInt8], stamp: FileStamp) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw POSIXErrorNumber(errno) }
        defer { close(descriptor) }
        let stamp: FileStamp
        switch FileStamp.of(descriptor: descriptor) {
        case .success(let value): stamp = value
        case .failure(let error): throw error
        }
        guard stamp.size <= Int64(limit) else { throw POSIXErrorNumber(EFBIG) }
        var bytes = [UInt8](repeating: 0, count: Int(stamp.size))
        var filled = 0
        while true {
            if filled == bytes.count {
                // The file may have grown since fstat: read on, up to the limit.
                guard bytes.count < limit else {
                    var probe: UInt8 = 0
                    if systemRead(descriptor, &probe, 1) > 0 { throw POSIXErrorNumber(EFBIG) }
                    break
                }
                bytes.append(contentsOf: repeatElement(0, count: min(max(bytes.count, 4096), limit - bytes.count)))
            }
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXErrorNumber(errno)
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return (bytes, stamp)
    }
}

/// `read(2)` under a name that does not clash with the Swift method names around it.
@inline(__always)
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(descriptor, buffer, count)
    #elseif canImport(Musl)
    Musl.read(descriptor, buffer, count)
    #else
    Darwin.read(descriptor, buffer, count)
    #endif
}
