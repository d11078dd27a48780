import Foundation

/// A fresh directory under the system's temporary directory, removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory's path.
    public let path: String

    /// A directory in the system's temporary directory, or in `parent` (created if need be) —
    /// for programs such as Sendmail that refuse files below a world-writable directory.
    public init(prefix: String = "swiftmta-test", in parent: String? = nil) throws {
        if let parent { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let template = ((parent ?? NSTemporaryDirectory()) as NSString).appendingPathComponent("\(prefix).XXXXXX")
        var bytes = Array(template.utf8CString)
        guard let created = mkdtemp(&bytes) else {
            throw TestSupportError("mkdtemp \(template) failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String, permissions: Int = 0o644) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: target)
        return target
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A failure in a test's own set-up (a tool missing, a server that did not start).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
