public import MailSystem
import Synchronization

/// A map read from a text file: `text:` (Sendmail's and Postfix's `key value` source files),
/// `aliases:` (aliases(5) `name: value` files) and `list:` (class files such as
/// local-host-names, one or more names per line).
///
/// The file is parsed by ``MailMapTextParser`` into memory when the map opens. Lookups answer from
/// memory; at most once per ``MailMapOptions/reloadInterval`` a lookup checks whether the file
/// changed (inode, size, modification time) and, if so, reads it again on its `WorkerPool`, so an
/// edited file takes effect without a restart. A file that became unreadable or malformed fails
/// every lookup with the error until it is fixed; it is never read as an empty map. When the pool
/// cannot take the check (full or late), lookups answer from the file as last read and check again
/// after the next interval.
///
/// When a key appears twice, the first entry wins, as with `makemap` and `postmap`.
public final class TextMap: ListableMailMap {
    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// The file.
    public let path: String
    /// What the lines hold.
    public let format: MailMapTextParser.Format
    /// Case folding, optional file, reload interval and size limit.
    public let options: MailMapOptions
    private let threadPool: WorkerPool

    private struct Loaded: Sendable {
        var table: [String: String]
        var ordered: [MailMapEntry]
    }

    private struct State: Sendable {
        var contents: Result<Loaded, MailMapError>
        var stamp: FileStamp?
        var lastCheck: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    /// Reads `path` now.
    ///
    /// - Throws: ``MailMapError`` naming the file (and line) when it cannot be read or parsed,
    ///   unless the map is optional and the file does not exist.
    public init(
        path: String, format: MailMapTextParser.Format = .table(delimiter: nil),
        options: MailMapOptions = MailMapOptions(), threadPool: WorkerPool = .mailMaps
    ) throws(MailMapError) {
        let type = switch format {
        case .table: "text"
        case .aliases: "aliases"
        case .list: "list"
        }
        self.spec = "\(type):\(path)"
        self.path = path
        self.format = format
        self.options = options
        self.threadPool = threadPool
        let (contents, stamp) = Self.load(path: path, format: format, options: options, spec: spec)
        if case .failure(let error) = contents { throw error }
        self.state = Mutex(State(contents: contents, stamp: stamp, lastCheck: .now))
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        if claimCheck() {
            try? await threadPool.run { self.reloadIfChanged() }
        }
        let folded = options.fold(key)
        return try state.withLock { (state) throws(MailMapError) -> String? in
            try state.contents.get().table[folded]
        }
    }

    /// The value for `key` from the file as last read, without checking for changes; for callers
    /// already off the event loop that want no suspension point.
    public func cachedValue(forKey key: String) throws(MailMapError) -> String? {
        let folded = options.fold(key)
        return try state.withLock { (state) throws(MailMapError) -> String? in
            try state.contents.get().table[folded]
        }
    }

    /// Every entry (see ``ListableMailMap/entries()``).
    public func entries() async throws(MailMapError) -> [MailMapEntry] {
        if claimCheck() {
            try? await threadPool.run { self.reloadIfChanged() }
        }
        return try state.withLock { (state) throws(MailMapError) -> [MailMapEntry] in
            try state.contents.get().ordered
        }
    }

    /// Whether this lookup should check the file; the first caller after the interval claims it.
    private func claimCheck() -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard now - state.lastCheck >= options.reloadInterval else { return false }
            state.lastCheck = now
            return true
        }
    }

    /// Reads the file again if its stamp changed. Runs on the pool.
    private func reloadIfChanged() {
        let current = FileStamp.of(path)
        let known = state.withLock { $0.stamp }
        switch current {
        case .success(let stamp) where stamp == known:
            return
        case .failure(let error) where error.isNoSuchFile && known == nil && options.isOptional:
            return
        case .success, .failure:
            break
        }
        let (contents, stamp) = Self.load(path: path, format: format, options: options, spec: spec)
        state.withLock { state in
            state.contents = contents
            state.stamp = stamp
        }
    }

    private static func load(
        path: String, format: MailMapTextParser.Format, options: MailMapOptions, spec: String
    ) -> (Result<Loaded, MailMapError>, FileStamp?) {
        let bytes: [UInt8]
        let stamp: FileStamp
        do {
            (bytes, stamp) = try BoundedFile.readWithStamp(path, limit: options.maximumFileSize)
        } catch {
            if error.isNoSuchFile && options.isOptional {
                return (.success(Loaded(table: [:], ordered: [])), nil)
            }
            let reason = switch error.reason {
            case .tooLarge: "is larger than the \(options.maximumFileSize)-byte limit for text maps"
            case .cannotOpen(let number), .cannotRead(let number): "cannot be read: \(number)"
            case .notText: "cannot be read: \(error.problem)"
            }
            return (.failure(MailMapError(.unreadable, map: spec, message: "\(spec): \(path) \(reason)")), nil)
        }
        let parser = MailMapTextParser(format: format, spec: spec, source: path)
        do {
            let entries = try parser.entries(bytes)
            var table: [String: String] = [:]
            table.reserveCapacity(entries.count)
            var ordered: [MailMapEntry] = []
            ordered.reserveCapacity(entries.count)
            for entry in entries {
                let key = options.fold(entry.key)
                guard table[key] == nil else { continue }  // the first entry wins
                table[key] = entry.value
                ordered.append(MailMapEntry(key: key, value: entry.value))
            }
            return (.success(Loaded(table: table, ordered: ordered)), stamp)
        } catch {
            return (.failure(error), stamp)
        }
    }
}
