import Synchronization

/// A bounded cache of lookup answers with a time to live, for remote maps (LDAP, DNS): found
/// values and "not found" are kept, each until its TTL runs out; errors are never kept.
///
/// When full, the oldest entry goes first. All methods are safe from any thread.
public final class MailMapCache: Sendable {
    /// A cached answer.
    public enum Answer: Hashable, Sendable {
        /// The key has this value.
        case found(String)
        /// The key is not in the map.
        case notFound
    }

    /// The most entries kept.
    public var capacity: Int { storage.capacity }

    private let storage: TTLCache<Answer>

    /// A cache of at most `capacity` entries (at least one).
    public init(capacity: Int = 10_000) {
        self.storage = TTLCache(capacity: capacity)
    }

    /// The cached answer for `key`, `nil` when there is none or it expired.
    public func answer(for key: String, now: ContinuousClock.Instant = .now) -> Answer? {
        storage.value(for: key, now: now)
    }

    /// Keeps `answer` for `key` during `ttl`; a TTL of zero or less keeps nothing.
    public func store(_ answer: Answer, for key: String, ttl: Duration, now: ContinuousClock.Instant = .now) {
        storage.store(answer, for: key, ttl: ttl, now: now)
    }

    /// Forgets every answer.
    public func removeAll() {
        storage.removeAll()
    }

    /// How many answers are kept (expired ones included until they are next seen).
    public var count: Int {
        storage.count
    }
}

/// A bounded map from keys to values that expire; the oldest entry goes first when it is full.
final class TTLCache<Value: Sendable>: Sendable {
    let capacity: Int

    private struct Slot {
        var value: Value
        var expires: ContinuousClock.Instant
        var generation: UInt64
    }

    private struct Storage {
        var slots: [String: Slot] = [:]
        var order: [(key: String, generation: UInt64)] = []
        var head = 0
        var nextGeneration: UInt64 = 0
    }

    private let storage: Mutex<Storage>

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        self.storage = Mutex(Storage())
    }

    func value(for key: String, now: ContinuousClock.Instant) -> Value? {
        storage.withLock { storage in
            guard let slot = storage.slots[key] else { return nil }
            guard slot.expires > now else {
                storage.slots[key] = nil
                return nil
            }
            return slot.value
        }
    }

    func store(_ value: Value, for key: String, ttl: Duration, now: ContinuousClock.Instant) {
        guard ttl > .zero else { return }
        storage.withLock { storage in
            if storage.slots[key] == nil {
                while storage.slots.count >= capacity { evictOldest(&storage) }
            }
            storage.nextGeneration += 1
            let generation = storage.nextGeneration
            storage.slots[key] = Slot(value: value, expires: now + ttl, generation: generation)
            storage.order.append((key, generation))
            compactIfNeeded(&storage)
        }
    }

    func removeAll() {
        storage.withLock { $0 = Storage() }
    }

    var count: Int {
        storage.withLock { $0.slots.count }
    }

    private func evictOldest(_ storage: inout Storage) {
        while storage.head < storage.order.count {
            let (key, generation) = storage.order[storage.head]
            storage.head += 1
            if storage.slots[key]?.generation == generation {
                storage.slots[key] = nil
                return
            }
        }
        // The order list lost track (it cannot, but never loop forever): drop everything.
        storage.slots.removeAll()
    }

    private func compactIfNeeded(_ storage: inout Storage) {
        let pending = storage.order.count - storage.head
        guard storage.head > 1024 || pending > 2 * capacity + 16 else { return }
        storage.order = storage.order[storage.head...].filter { storage.slots[$0.key]?.generation == $0.generation }
        storage.head = 0
    }
}
