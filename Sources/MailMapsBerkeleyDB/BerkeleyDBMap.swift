internal import CBerkeleyDB
public import MailMaps
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Berkeley DB map (`hash:` or `btree:`), as Sendmail's `makemap` and Postfix's `postmap` write
/// them, opened read-only.
///
/// The two tools store keys differently: makemap without a trailing NUL byte, postmap with one. A
/// lookup tries the key without, then with, a trailing NUL, and strips a trailing NUL from the
/// value, so both kinds of file answer the same. Keys are folded to lower case before the lookup
/// unless `foldCase` is off (makemap's and postmap's `-f`), matching how both tools store them.
///
/// One handle serves all threads; calls on it are serialised.
public final class BerkeleyDBMap: MailMap, @unchecked Sendable {
    /// The kind of Berkeley DB file.
    public enum Format: String, Sendable, CaseIterable {
        /// A hash table (`makemap hash`, `postmap hash:`).
        case hash
        /// A B-tree (`makemap btree`, `postmap btree:`).
        case btree
    }

    public let spec: String
    /// The file that was opened.
    public let path: String
    /// The kind of file.
    public let format: Format
    /// Whether keys are folded to lower case before the lookup.
    public let foldCase: Bool

    private let handle: Mutex<BerkeleyDBHandle>

    /// Opens `path` read-only.
    ///
    /// - Throws: ``MailMapError`` naming the file when it cannot be opened, or is not a Berkeley
    ///   DB file of the given format (a corrupt or truncated file, a text file).
    public init(path: String, format: Format, foldCase: Bool = true) throws(MailMapError) {
        self.spec = "\(format.rawValue):\(path)"
        self.path = path
        self.format = format
        self.foldCase = foldCase
        self.handle = Mutex(try BerkeleyDBHandle(path: path, format: format, spec: spec))
    }

    /// The value stored for `key`, or `nil`; synchronous. ``lookup(_:)`` is the same as `async`.
    ///
    /// - Throws: ``MailMapError`` when Berkeley DB reports anything but "not found".
    public func value(forKey key: String) throws(MailMapError) -> String? {
        let folded = foldCase ? key.lowercased() : key
        var bytes = Array(folded.utf8)
        let found: [UInt8]? = try handle.withLock { (db) throws(MailMapError) -> [UInt8]? in
            if let value = try db.get(bytes) { return value }
            bytes.append(0)
            return try db.get(bytes)
        }
        guard var value = found else { return nil }
        if value.last == 0 { value.removeLast() }
        return String(decoding: value, as: UTF8.self)
    }

    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        try value(forKey: key)
    }
}

/// Owns one `DB*`; not thread-safe by itself (``BerkeleyDBMap`` serialises calls).
final class BerkeleyDBHandle {
    private let db: UnsafeMutablePointer<DB>
    private let spec: String
    private let messages = BerkeleyDBMessages()

    init(path: String, format: BerkeleyDBMap.Format, spec: String) throws(MailMapError) {
        self.spec = spec
        var created: UnsafeMutablePointer<DB>?
        let status = db_create(&created, nil, 0)
        guard status == 0, let created else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot create a Berkeley DB handle: \(Self.reason(status))")
        }
        self.db = created
        // From here on, deinit closes the handle, also when init throws (a failed open must be closed too).
        // Berkeley DB's own error text (say "unexpected file type or format") goes to a callback
        // that finds this handle's message store through the environment's app_private pointer.
        created.pointee.dbenv.pointee.app_private = Unmanaged.passUnretained(messages).toOpaque()
        created.pointee.set_errcall(created) { environment, _, message in
            guard let environment, let message,
                  let store = environment.pointee.app_private else { return }
            Unmanaged<BerkeleyDBMessages>.fromOpaque(store).takeUnretainedValue().last = String(cString: message)
        }

        // Check the file first: Berkeley DB's "no such file" is plainer from stat.
        var info = stat()
        if stat(path, &info) != 0 {
            let reason = String(cString: strerror(errno))
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot open \(path): \(reason)")
        }
        let type: DBTYPE = format == .hash ? DB_HASH : DB_BTREE
        let opened = swiftmta_db_open(created, path, type, UInt32(DB_RDONLY), 0)
        guard opened == 0 else {
            let detail = messages.last ?? Self.reason(opened)
            let kind: MailMapError.Kind = opened == EACCES || opened == ENOENT ? .unreadable : .malformed
            let what = kind == .malformed ? "is not a readable Berkeley DB \(format.rawValue) file" : "cannot be opened"
            throw MailMapError(kind, map: spec, message: "\(spec): \(path) \(what): \(detail)")
        }
    }

    /// The stored value for the exact key bytes, or `nil`.
    func get(_ key: [UInt8]) throws(MailMapError) -> [UInt8]? {
        var value = DBT()
        value.flags = UInt32(DB_DBT_MALLOC)
        let status = key.withUnsafeBytes { swiftmta_db_get(db, $0.baseAddress, UInt32($0.count), &value) }
        switch status {
        case 0:
            defer { free(value.data) }
            guard let data = value.data else { return [] }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(value.size)))
        case DB_NOTFOUND, DB_KEYEMPTY:
            return nil
        default:
            let detail = messages.last ?? Self.reason(status)
            throw MailMapError(.lookupFailed, map: spec, message: "\(spec): lookup failed: \(detail)")
        }
    }

    static func reason(_ status: Int32) -> String {
        db_strerror(status).map { String(cString: $0) } ?? "error \(status)"
    }

    deinit {
        _ = swiftmta_db_close(db)
    }
}

/// The last message Berkeley DB reported for one handle.
final class BerkeleyDBMessages {
    var last: String?
}
