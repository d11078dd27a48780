/// A file (or standard input) that ``BoundedFile`` could not read, naming it and saying why:
/// `/etc/mail/access: cannot open: No such file or directory`,
/// `/etc/ssl/key.pem: larger than 16777216 bytes`, `swiftmta.toml: not UTF-8 text`.
package struct BoundedFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the file was not read.
    package enum Reason: Hashable, Sendable {
        /// `open` (or `fstat` after it) failed.
        case cannotOpen(POSIXErrorNumber)
        /// `read` failed.
        case cannotRead(POSIXErrorNumber)
        /// The contents exceed the limit (in bytes) the caller gave.
        case tooLarge(limit: Int)
        /// ``BoundedFile/readText(_:limit:)``: the contents are not UTF-8, or hold a NUL.
        case notText
    }

    /// The path as given, or `standard input`.
    package let path: String
    /// Why it was not read.
    package let reason: Reason

    package init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// Whether the file, or a folder on its path, does not exist.
    package var isNoSuchFile: Bool {
        switch reason {
        case .cannotOpen(let error): error.isNoSuchFile
        case .cannotRead, .tooLarge, .notText: false
        }
    }

    /// What went wrong, without the path: `cannot open: Permission denied`.
    package var problem: String {
        switch reason {
        case .cannotOpen(let error): "cannot open: \(error)"
        case .cannotRead(let error): "cannot read: \(error)"
        case .tooLarge(let limit): "larger than \(limit) bytes"
        case .notText: "not UTF-8 text"
        }
    }

    /// `PATH: problem`.
    package var description: String { "\(path): \(problem)" }
}
