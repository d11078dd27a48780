public import MailMaps
import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A bind password: kept as bytes, wiped when released, and never shown (its description is
/// `<redacted>`, and no error or log line includes it).
public final class LDAPPassword: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private nonisolated(unsafe) let storage: UnsafeMutableBufferPointer<UInt8>

    /// A password with the UTF-8 bytes of `text`.
    public init(_ text: String) {
        storage = .allocate(capacity: text.utf8.count)
        _ = storage.initialize(from: text.utf8)
    }

    /// The password in `path`, as Sendmail's `-P` and ldapsearch's `-y` read it: the whole file,
    /// without a trailing newline.
    ///
    /// - Throws: ``MailMapError`` of kind `unreadable` naming the file (never its contents).
    public convenience init(contentsOfFile path: String, map: String) throws(MailMapError) {
        var bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path, limit: 4096)
        } catch {
            throw MailMapError(.unreadable, map: map, message: "\(map): cannot read the password file \(path): \(error.problem)")
        }
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        self.init(bytes: bytes)
    }

    private init(bytes: [UInt8]) {
        storage = .allocate(capacity: bytes.count)
        _ = storage.initialize(from: bytes)
    }

    /// How many bytes the password has.
    public var count: Int { storage.count }

    /// Calls `body` with a NUL-terminated copy of the password that is wiped afterwards.
    func withCString<T>(_ body: (UnsafeMutablePointer<CChar>) throws -> T) rethrows -> T {
        let copy = UnsafeMutableBufferPointer<CChar>.allocate(capacity: storage.count + 1)
        defer {
            copy.update(repeating: 0)
            copy.deallocate()
        }
        for index in storage.indices { copy[index] = CChar(bitPattern: storage[index]) }
        copy[storage.count] = 0
        return try body(copy.baseAddress!)
    }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }

    deinit {
        storage.update(repeating: 0)
        storage.deallocate()
    }
}
