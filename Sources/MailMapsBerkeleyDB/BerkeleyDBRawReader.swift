internal import CBerkeleyDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Berkeley DB C API with nothing of MailMaps around it — one handle, `db->get` in a loop over
/// keys prepared as C strings — so that the maps benchmark can set MailMaps' lookups beside the C
/// library in the same run without reaching the C library itself.
package final class BerkeleyDBRawReader {
    private let db: UnsafeMutablePointer<DB>
    private let keys: [UnsafeMutablePointer<CChar>]
    private let lengths: [UInt32]

    /// Opens `path` read-only as `format`, with `keys` (at least one) to look up; `nil` when the
    /// file cannot be opened.
    package init?(path: String, format: BerkeleyDBMap.Format, keys: [String]) {
        var created: UnsafeMutablePointer<DB>?
        guard !keys.isEmpty, db_create(&created, nil, 0) == 0, let created else { return nil }
        guard swiftmta_db_open(created, path, format == .hash ? DB_HASH : DB_BTREE, UInt32(DB_RDONLY), 0) == 0 else {
            _ = swiftmta_db_close(created)
            return nil
        }
        db = created
        self.keys = keys.map { strdup($0)! }
        lengths = keys.map { UInt32($0.utf8.count) }
    }

    /// Makes `count` lookups, cycling through the keys; how many found a value.
    package func lookups(_ count: Int) -> Int {
        var found = 0
        for index in 0..<count {
            var value = DBT()
            if swiftmta_db_get(db, keys[index % keys.count], lengths[index % keys.count], &value) == 0 { found += 1 }
        }
        return found
    }

    deinit {
        _ = swiftmta_db_close(db)
        for key in keys { free(key) }
    }
}
