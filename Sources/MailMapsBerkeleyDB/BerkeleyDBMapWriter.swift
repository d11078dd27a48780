internal import CBerkeleyDB
public import MailMaps
import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a Berkeley DB map from entries, as Sendmail's `makemap` does: `swiftmta makemap`.
///
/// The file is written beside the target under a temporary name, flushed to disk, and renamed over
/// the target, so readers see the old map or the new one, never half of one; a failure leaves the
/// old map as it was. Keys are stored without a trailing NUL unless ``Options/includesNUL``
/// (makemap's convention, which makemap `-u`, Sendmail and Postfix's `postmap -q` all read).
public struct BerkeleyDBMapWriter: Sendable {
    /// makemap's flags.
    public struct Options: Hashable, Sendable {
        /// The kind of file.
        public var format: BerkeleyDBMap.Format
        /// Fold keys to lower case (ASCII); makemap's `-f` turns it off.
        public var foldsCase: Bool
        /// Store keys and values with a trailing NUL (makemap's `-N`, postmap's convention).
        public var includesNUL: Bool
        /// Add to the existing map instead of replacing it (makemap's `-o`).
        public var appends: Bool
        /// A later entry for a key replaces an earlier one (makemap's `-r`); otherwise the first
        /// stays and the later one is reported as a duplicate.
        public var replacesDuplicates: Bool
        /// The permissions of a new file (an existing file's are kept): 0640, as makemap.
        public var mode: UInt32

        /// makemap's defaults: fold case, no NUL, replace the map, keep the first of duplicates.
        public init(
            format: BerkeleyDBMap.Format, foldsCase: Bool = true, includesNUL: Bool = false,
            appends: Bool = false, replacesDuplicates: Bool = false, mode: UInt32 = 0o640
        ) {
            self.format = format
            self.foldsCase = foldsCase
            self.includesNUL = includesNUL
            self.appends = appends
            self.replacesDuplicates = replacesDuplicates
            self.mode = mode
        }
    }

    /// What a write did.
    public struct Report: Hashable, Sendable {
        /// How many entries were stored.
        public var stored: Int
        /// Entries skipped because their key was already stored (without ``Options/replacesDuplicates``).
        public var duplicates: [MailMapTextParser.Entry]
    }

    /// The file written (the `.db` file itself).
    public let path: String
    /// makemap's flags.
    public let options: Options

    /// A writer of `path` with `options`.
    public init(path: String, options: Options) {
        self.path = path
        self.options = options
    }

    /// Writes `entries` (with their line numbers, for the duplicate report) and replaces the map.
    ///
    /// - Throws: ``MailMapError`` naming the file when it cannot be written.
    public func write(_ entries: [MailMapTextParser.Entry]) throws(MailMapError) -> Report {
        let spec = "\(options.format.rawValue):\(path)"
        let directory = Self.directory(of: path)
        var existing = stat()
        let exists = stat(path, &existing) == 0
        let temporary = try reserveTemporaryName(in: directory, spec: spec)
        var keep = false
        defer { if !keep { unlink(temporary) } }

        if options.appends && exists {
            try copyFile(from: path, to: temporary, spec: spec)
        } else {
            unlink(temporary)
        }
        var report = Report(stored: 0, duplicates: [])
        do {
            let writer = try BerkeleyDBWriterHandle(path: temporary, format: options.format, create: !(options.appends && exists), spec: spec)
            for entry in entries {
                let key = options.foldsCase ? MailMapOptions.asciiLowercased(entry.key) : entry.key
                let stored = try writer.put(key: key, value: entry.value, includesNUL: options.includesNUL,
                                            replace: options.replacesDuplicates)
                if stored { report.stored += 1 } else { report.duplicates.append(entry) }
            }
            try writer.finish()
        }
        try syncAndReplace(temporary: temporary, directory: directory, existing: exists ? existing : nil, spec: spec)
        keep = true
        return report
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// A name beside the target that nothing else uses, reserved with mkstemp.
    private func reserveTemporaryName(in directory: String, spec: String) throws(MailMapError) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "map"
        var template = Array("\(directory)/.\(base).XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot create a file in \(directory): \(POSIXErrorNumber(errno))")
        }
        close(descriptor)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func copyFile(from source: String, to target: String, spec: String) throws(MailMapError) {
        let contents: [UInt8]
        do {
            contents = try BoundedFile.read(source, limit: Int.max)
        } catch {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot read \(source) to add to it: \(error.problem)")
        }
        let descriptor = open(target, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot write \(target): \(POSIXErrorNumber(errno))")
        }
        defer { close(descriptor) }
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else {
                throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot write \(target): \(POSIXErrorNumber(errno))")
            }
            offset += written
        }
    }

    /// fsyncs the new file, gives it the old file's permissions (or the default), renames it over
    /// the target, and fsyncs the directory.
    private func syncAndReplace(temporary: String, directory: String, existing: stat?, spec: String) throws(MailMapError) {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot reopen \(temporary): \(POSIXErrorNumber(errno))")
        }
        if let existing {
            _ = fchmod(descriptor, existing.st_mode & 0o7777)
            _ = fchown(descriptor, existing.st_uid, existing.st_gid)
        } else {
            _ = fchmod(descriptor, mode_t(options.mode))
        }
        let synced = fsync(descriptor)
        let syncError = errno
        close(descriptor)
        guard synced == 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot flush \(temporary) to disk: \(POSIXErrorNumber(syncError))")
        }
        guard rename(temporary, path) == 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot replace \(path): \(POSIXErrorNumber(errno))")
        }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}

/// Owns one `DB*` opened for writing.
final class BerkeleyDBWriterHandle {
    private let db: UnsafeMutablePointer<DB>
    private let spec: String
    private let messages = BerkeleyDBMessages()
    private var closed = false

    init(path: String, format: BerkeleyDBMap.Format, create: Bool, spec: String) throws(MailMapError) {
        self.spec = spec
        var created: UnsafeMutablePointer<DB>?
        let status = db_create(&created, nil, 0)
        guard status == 0, let created else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot create a Berkeley DB handle: \(BerkeleyDBHandle.reason(status))")
        }
        self.db = created
        BerkeleyDBMessages.attach(messages, to: created)
        let type: DBTYPE = format == .hash ? DB_HASH : DB_BTREE
        let flags = create ? UInt32(DB_CREATE | DB_EXCL) : 0
        let opened = swiftmta_db_open(created, path, type, flags, 0o600)
        guard opened == 0 else {
            let detail = messages.last ?? BerkeleyDBHandle.reason(opened)
            throw MailMapError(create ? .unreadable : .malformed, map: spec,
                message: "\(spec): cannot \(create ? "create" : "open the copy of the existing map") \(path): \(detail)")
        }
    }

    /// Stores `value` for `key`; `false` when the key was there and `replace` is off.
    func put(key: String, value: String, includesNUL: Bool, replace: Bool) throws(MailMapError) -> Bool {
        var keyBytes = Array(key.utf8)
        var valueBytes = Array(value.utf8)
        if includesNUL {
            keyBytes.append(0)
            valueBytes.append(0)
        }
        let status = keyBytes.withUnsafeBytes { keyBuffer in
            valueBytes.withUnsafeBytes { valueBuffer in
                swiftmta_db_put(db, keyBuffer.baseAddress, UInt32(keyBuffer.count),
                                valueBuffer.baseAddress, UInt32(valueBuffer.count), replace ? 0 : UInt32(DB_NOOVERWRITE))
            }
        }
        switch status {
        case 0: return true
        case DB_KEYEXIST: return false
        default:
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot store a key: \(messages.last ?? BerkeleyDBHandle.reason(status))")
        }
    }

    /// Flushes and closes the database.
    func finish() throws(MailMapError) {
        closed = true
        let status = swiftmta_db_close(db)
        guard status == 0 else {
            throw MailMapError(.unreadable, map: spec, message: "\(spec): cannot write the map: \(messages.last ?? BerkeleyDBHandle.reason(status))")
        }
    }

    deinit {
        if !closed { _ = swiftmta_db_close(db) }
    }
}

/// `write(2)`, at file scope where the name is not shadowed by ``BerkeleyDBMapWriter/write(_:)``.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
