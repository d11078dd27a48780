#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What identifies one version of a file: device, inode, size and modification time. A map reads
/// its file again when this changes; ``BoundedFile/readWithStamp(_:limit:)`` returns the stamp of
/// the very file it read.
package struct FileStamp: Hashable, Sendable {
    package let device: UInt64
    package let inode: UInt64
    package let size: Int64
    package let modifiedSeconds: Int64
    package let modifiedNanoseconds: Int64

    /// The stamp of `path` now, or the `errno` of a failed `stat`.
    package static func of(_ path: String) -> Result<FileStamp, POSIXErrorNumber> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(.current) }
        return .success(FileStamp(info))
    }

    /// The stamp of an open file.
    package static func of(descriptor: Int32) -> Result<FileStamp, POSIXErrorNumber> {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(.current) }
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
