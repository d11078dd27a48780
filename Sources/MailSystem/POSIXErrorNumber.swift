#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` value, with the system's text for it (`strerror`).
package struct POSIXErrorNumber: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value.
    package let code: Int32

    /// The error `code`.
    package init(_ code: Int32) { self.code = code }

    /// The error of the last failed call on this thread.
    package static var current: POSIXErrorNumber { POSIXErrorNumber(errno) }

    /// The system's text: "No such file or directory".
    package var description: String { String(cString: strerror(code)) }
    /// Whether the file, or a folder on its path, does not exist.
    package var isNoSuchFile: Bool { code == ENOENT || code == ENOTDIR }
    /// Whether this is `EFBIG`.
    package var isTooLarge: Bool { code == EFBIG }
}
