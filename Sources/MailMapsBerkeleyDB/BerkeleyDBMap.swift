public import MailMaps
public import MailSystem
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
/// **Both key conventions.** makemap stores keys without a trailing NUL byte, postmap with one. A
/// lookup tries the key without, then with, a trailing NUL, until one form is found; from then on
/// it tries that form only (as Sendmail and Postfix learn it). A trailing NUL is dropped from
/// values. Keys are folded to lower case (ASCII, as both tools fold them) unless the map was
/// opened with folding off (`-f`).
///
/// **Files rewritten under it.** makemap and postmap rewrite a map in place, holding an exclusive
/// `flock` while they write, and their readers take a shared lock around each lookup. This map
/// holds a shared lock as a lease instead: taken when the map is first used, renewed at most once
/// per ``MailMapOptions/reloadInterval``, and given up by a background thread once lookups stop
/// renewing it, so a writer waits at most about one interval. At each renewal the file's stamp
/// (device, inode, size, modification time) is compared, and a changed file, rewritten in place or
/// replaced by a rename as `swiftmta makemap` does, is opened again: edits take effect without a
/// restart, and no lookup reads a half-written file. A renewal that finds a writer still at work
/// waits for it up to ``lockTimeout``, then fails the lookup.
///
/// **No blocking on the caller's thread.** ``lookup(_:)`` and ``search(_:)`` run on the map's
/// `WorkerPool` (`WorkerPool.Configuration.mailMaps` unless given another; a search of several
/// keys in one trip, and no trip at all from a task already on the pool); ``value(forKey:)`` is
/// the same lookup, synchronous, for callers already on a thread of their own. A pool that is full
/// or late fails the lookup at once with kind `unavailable`.
public final class BerkeleyDBMap: ListableMailMap {
    /// The kind of Berkeley DB file.
    public enum Format: String, Sendable, CaseIterable {
        /// A hash table (`makemap hash`, `postmap hash:`).
        case hash
        /// A B-tree (`makemap btree`, `postmap btree:`).
        case btree
    }

    /// How keys are stored.
    public enum KeyConvention: Sendable, Hashable {
        /// Try without a trailing NUL, then with one (the default).
        case both
        /// Keys end in a NUL byte (postmap; makemap `-N`; Sendmail's map flag `-N`).
        case withNUL
        /// Keys have no trailing NUL (makemap's default; Sendmail's map flag `-O`).
        case withoutNUL
    }

    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// The file.
    public let path: String
    /// The kind of file.
    public let format: Format
    /// Case folding, optional file, and how often the file is checked.
    public let options: MailMapOptions
    /// Which key forms are tried.
    public let keys: KeyConvention
    /// How long a renewal waits for a program rewriting the file before failing the lookup.
    public let lockTimeout: Duration
    /// Where blocking lookups run.
    public let threadPool: WorkerPool

    private let state: Mutex<LeaseState>

    /// Opens `path` (the `.db` file itself) read-only.
    ///
    /// - Throws: ``MailMapError`` naming the file when it cannot be opened, or is not a Berkeley
    ///   DB file of the given format (a corrupt or truncated file, a text file); not when the map
    ///   is optional and the file does not exist.
    public init(
        path: String, format: Format, options: MailMapOptions = MailMapOptions(), keys: KeyConvention = .both,
        lockTimeout: Duration = .seconds(10), threadPool: WorkerPool = .mailMaps, spec: String? = nil
    ) throws(MailMapError) {
        self.spec = spec ?? "\(format.rawValue):\(path)"
        self.path = path
        self.format = format
        self.options = options
        self.keys = keys
        self.lockTimeout = lockTimeout
        self.threadPool = threadPool
        var initial = LeaseState()
        initial.renew(self.spec, path: path, format: format, options: options, keys: keys, lockTimeout: lockTimeout, now: LeaseClock.now)
        if let failure = initial.failure { throw failure }
        self.state = Mutex(initial)
        BerkeleyDBLeaseReaper.shared.register(self)
    }

    /// The value stored for `key`, or `nil`; synchronous and blocking (Berkeley DB reads the
    /// file). ``lookup(_:)`` is the same on the worker pool.
    ///
    /// - Throws: ``MailMapError`` when the file cannot be read, or Berkeley DB reports anything
    ///   but "not found".
    public func value(forKey key: String) throws(MailMapError) -> String? {
        let folded = options.fold(key)
        return try state.withLock { (state) throws(MailMapError) -> String? in
            guard let handle = try leased(&state) else { return nil }
            return try handle.value(forKey: folded)
        }
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        if threadPool.isCurrentThreadInPool { return try value(forKey: key) }
        return try await threadPool.run(forMap: spec) { () throws(MailMapError) -> String? in try self.value(forKey: key) }
    }

    /// Searches `keys` in one trip to the worker pool.
    public func search(_ keys: [String]) async -> MailMapSearch {
        if threadPool.isCurrentThreadInPool { return searchSynchronously(keys) }
        return await threadPool.search(forMap: spec, keys: keys) { self.searchSynchronously(keys) }
    }

    private func searchSynchronously(_ keys: [String]) -> MailMapSearch {
        MailMapSearch.collect(spec: spec, keys: keys) { (key) throws(MailMapError) -> String? in
            try value(forKey: key)
        }
    }

    /// Every entry (see ``ListableMailMap/entries()``).
    public func entries() async throws(MailMapError) -> [MailMapEntry] {
        try await threadPool.run(forMap: spec) { () throws(MailMapError) -> [MailMapEntry] in
            try self.state.withLock { (state) throws(MailMapError) -> [MailMapEntry] in
                try self.leased(&state)?.entries() ?? []
            }
        }
    }

    /// The handle to read through, renewing the lease first when it ran out; `nil` for an
    /// optional map whose file does not exist.
    private func leased(_ state: inout LeaseState) throws(MailMapError) -> BerkeleyDBHandle? {
        let now = LeaseClock.now
        if !state.isValid(at: now) {
            state.renew(spec, path: path, format: format, options: options, keys: keys, lockTimeout: lockTimeout, now: now)
        }
        if let failure = state.failure { throw failure }
        return state.handle
    }

    /// Gives up the shared lock if no lookup renewed it in time; called by the reaper thread.
    func releaseExpiredLease(now: LeaseClock.Instant) {
        _ = state.withLockIfAvailable { state in
            state.releaseIfExpired(now: now)
        }
    }
}

/// A map's open handle, the descriptor its shared lock is held on, and until when.
struct LeaseState: ~Copyable {
    var handle: BerkeleyDBHandle?
    var lockDescriptor: Int32 = -1
    var isLocked = false
    var stamp: FileStamp?
    var failure: MailMapError?
    var expiry = LeaseClock.Instant(nanoseconds: 0)

    /// Whether lookups may go on without renewing: within the lease, holding the lock (or with
    /// nothing to lock: an optional map without its file, or a stored failure).
    func isValid(at now: LeaseClock.Instant) -> Bool {
        now < expiry && (isLocked || handle == nil)
    }

    mutating func releaseIfExpired(now: LeaseClock.Instant) {
        guard isLocked, now >= expiry else { return }
        _ = flock(lockDescriptor, LOCK_UN)
        isLocked = false
    }

    /// Gives up the lock, lets a waiting writer in, takes the lock again on the file as it now is,
    /// and opens it again if it changed. Records a failure instead of throwing: lookups throw it
    /// until the next renewal.
    mutating func renew(
        _ spec: String, path: String, format: BerkeleyDBMap.Format, options: MailMapOptions,
        keys: BerkeleyDBMap.KeyConvention, lockTimeout: Duration, now: LeaseClock.Instant
    ) {
        expiry = now.advanced(by: options.reloadInterval)
        if isLocked {
            _ = flock(lockDescriptor, LOCK_UN)
            isLocked = false
            // A writer blocked in flock(LOCK_EX) is woken by the unlock; give it the moment it
            // needs to take the lock before this reader takes it back.
            if options.reloadInterval >= .milliseconds(100) { usleep(1000) } else { sched_yield() }
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = POSIXErrorNumber(errno)
            drop()
            if error.isNoSuchFile && options.isOptional {
                failure = nil
            } else {
                failure = MailMapError(.unreadable, map: spec, message: "\(spec): cannot open \(path): \(error)")
            }
            return
        }
        guard Self.lockShared(descriptor, timeout: lockTimeout) else {
            close(descriptor)
            drop()
            failure = MailMapError(.unavailable, map: spec,
                message: "\(spec): \(path) is locked by a program rewriting it (makemap, postmap) for more than \(lockTimeout)")
            return
        }
        guard case .success(let current) = FileStamp.of(descriptor: descriptor) else {
            let error = POSIXErrorNumber(errno)
            close(descriptor)
            drop()
            failure = MailMapError(.unreadable, map: spec, message: "\(spec): cannot read \(path): \(error)")
            return
        }
        if handle != nil, failure == nil, current == stamp {
            // Unchanged: keep the open handle (and its cache); hold the lock on the new descriptor.
            if lockDescriptor >= 0 { close(lockDescriptor) }
            lockDescriptor = descriptor
            isLocked = true
            return
        }
        drop()
        do {
            let opened = try BerkeleyDBHandle(path: path, format: format, keys: keys, spec: spec)
            handle = opened
            lockDescriptor = descriptor
            isLocked = true
            stamp = current
            failure = nil
        } catch {
            close(descriptor)
            failure = error
        }
    }

    /// Closes the handle and the lock descriptor.
    private mutating func drop() {
        handle = nil
        stamp = nil
        if lockDescriptor >= 0 { close(lockDescriptor) }
        lockDescriptor = -1
        isLocked = false
    }

    /// Takes a shared flock on `descriptor`, waiting up to `timeout` for a writer to finish.
    private static func lockShared(_ descriptor: Int32, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while flock(descriptor, LOCK_SH | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }
}

/// The monotonic clock leases are measured with: `CLOCK_MONOTONIC_COARSE`, read in a few
/// nanoseconds at every lookup, precise to a few milliseconds, which is plenty for a lease of a
/// second.
enum LeaseClock {
    struct Instant: Comparable {
        var nanoseconds: Int64

        func advanced(by duration: Duration) -> Instant {
            let (seconds, attoseconds) = duration.components
            return Instant(nanoseconds: nanoseconds &+ seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
        }

        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    }

    static var now: Instant {
        var time = timespec()
        #if canImport(Darwin)
        clock_gettime(CLOCK_MONOTONIC_RAW_APPROX, &time)
        #else
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        #endif
        return Instant(nanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }
}
