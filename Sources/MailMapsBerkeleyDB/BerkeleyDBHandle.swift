internal import CBerkeleyDB
import MailMaps
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one `DB*` opened read-only, and the descriptor its shared lock is held on. Not
/// thread-safe by itself: ``BerkeleyDBMap`` serialises calls.
final class BerkeleyDBHandle {
    private let db: UnsafeMutablePointer<DB>
    private let spec: String
    private let messages = BerkeleyDBMessages()
    /// Which key conventions are still tried: both until a key is found one way (as Sendmail's
    /// MF_TRY0NULL/MF_TRY1NULL and Postfix's DICT_FLAG_TRY0NULL/TRY1NULL learn it).
    private var triesWithoutNUL: Bool
    private var triesWithNUL: Bool
    private var keyBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    private var keyCapacity = 256

    /// Opens `path` read-only as `format`.
    init(path: String, format: BerkeleyDBMap.Format, keys: BerkeleyDBMap.KeyConvention, spec: String) throws(MailMapError) {
        self.spec = spec
        switch keys {
        case .both: (triesWithoutNUL, triesWithNUL) = (true, true)
        case .withNUL: (triesWithoutNUL, triesWithNUL) = (false, true)
        case .withoutNUL: (triesWithoutNUL, triesWithNUL) = (true, false)
        }
        var created: UnsafeMutablePointer<DB>?
        let status = db_create(&created, nil, 0)
        guard status == 0, let created else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot create a Berkeley DB handle: \(Self.reason(status))")
        }
        self.db = created
        // From here on, deinit closes the handle, also when init throws (a failed open is closed too).
        BerkeleyDBMessages.attach(messages, to: created)
        let type: DBTYPE = format == .hash ? DB_HASH : DB_BTREE
        let opened = swiftmta_db_open(created, path, type, UInt32(DB_RDONLY), 0)
        guard opened == 0 else {
            let detail = messages.last ?? Self.reason(opened)
            let kind: MailMapError.Kind = opened == EACCES || opened == ENOENT ? .unreadable : .malformed
            let what = kind == .malformed ? "is not a readable Berkeley DB \(format.rawValue) file" : "cannot be opened"
            throw MailMapError(kind, map: spec, message: "\(spec): \(path) \(what): \(detail)")
        }
    }

    /// The value stored for `key` (folded already), with a trailing NUL dropped, or `nil`.
    func value(forKey key: String) throws(MailMapError) -> String? {
        // The key's bytes go into a buffer kept for the purpose, with room for the NUL of the
        // second form: no allocation and no closure per lookup.
        let count = key.utf8.count
        if count + 1 > keyCapacity {
            keyBuffer.deallocate()
            keyCapacity = max(count + 1, keyCapacity * 2)
            keyBuffer = .allocate(capacity: keyCapacity)
        }
        _ = UnsafeMutableBufferPointer(start: keyBuffer, count: count).initialize(from: key.utf8)
        if triesWithoutNUL, let value = try get(UnsafeRawBufferPointer(start: keyBuffer, count: count)) {
            if triesWithNUL { triesWithNUL = false }
            return value
        }
        guard triesWithNUL else { return nil }
        keyBuffer[count] = 0
        guard let value = try get(UnsafeRawBufferPointer(start: keyBuffer, count: count + 1)) else { return nil }
        if triesWithoutNUL { triesWithoutNUL = false }
        return value
    }

    private func get(_ key: UnsafeRawBufferPointer) throws(MailMapError) -> String? {
        var value = DBT()
        let status = swiftmta_db_get(db, key.baseAddress, UInt32(key.count), &value)
        switch status {
        case 0:
            // Berkeley DB's own memory, valid until the next call on the handle.
            guard let data = value.data, value.size > 0 else { return "" }
            var bytes = UnsafeRawBufferPointer(start: data, count: Int(value.size))
            if bytes.last == 0 { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
            return String(decoding: bytes, as: UTF8.self)
        case DB_NOTFOUND, DB_KEYEMPTY:
            return nil
        default:
            let detail = messages.last ?? Self.reason(status)
            throw MailMapError(.lookupFailed, map: spec, message: "\(spec): lookup failed: \(detail)")
        }
    }

    /// Every entry, in the file's order, keys and values without trailing NULs.
    func entries() throws(MailMapError) -> [MailMapEntry] {
        var cursor: UnsafeMutablePointer<DBC>?
        let opened = swiftmta_db_cursor(db, &cursor)
        guard opened == 0, let cursor else {
            throw MailMapError(.lookupFailed, map: spec, message: "\(spec): cannot list the entries: \(messages.last ?? Self.reason(opened))")
        }
        defer { _ = swiftmta_dbc_close(cursor) }
        var entries: [MailMapEntry] = []
        while true {
            var key = DBT()
            var value = DBT()
            let status = swiftmta_dbc_get(cursor, &key, &value, UInt32(DB_NEXT))
            if status == DB_NOTFOUND { return entries }
            guard status == 0 else {
                throw MailMapError(.lookupFailed, map: spec, message: "\(spec): listing the entries failed: \(messages.last ?? Self.reason(status))")
            }
            entries.append(MailMapEntry(key: Self.text(key), value: Self.text(value)))
        }
    }

    private static func text(_ item: DBT) -> String {
        guard let data = item.data, item.size > 0 else { return "" }
        var bytes = UnsafeRawBufferPointer(start: data, count: Int(item.size))
        if bytes.last == 0 { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func reason(_ status: Int32) -> String {
        db_strerror(status).map { String(cString: $0) } ?? "error \(status)"
    }

    deinit {
        _ = swiftmta_db_close(db)
        keyBuffer.deallocate()
    }
}

/// The last message Berkeley DB reported for one handle (its errcall finds this through the
/// handle's environment, never through a global).
final class BerkeleyDBMessages {
    var last: String?

    static func attach(_ messages: BerkeleyDBMessages, to db: UnsafeMutablePointer<DB>) {
        swiftmta_db_set_errcall(db, Unmanaged.passUnretained(messages).toOpaque()) { environment, _, message in
            guard let message, let context = swiftmta_db_env_context(environment) else { return }
            Unmanaged<BerkeleyDBMessages>.fromOpaque(context).takeUnretainedValue().last = String(cString: message)
        }
    }
}
