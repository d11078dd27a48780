import MailMaps
import Testing
import TestSupport

@Suite("the answer cache and the thread pool")
struct CacheAndPoolTests {
    @Test("answers expire after their TTL")
    func expiry() {
        let cache = MailMapCache(capacity: 10)
        let start = ContinuousClock.now
        cache.store(.found("RELAY"), for: "a", ttl: .seconds(10), now: start)
        cache.store(.notFound, for: "b", ttl: .seconds(2), now: start)
        #expect(cache.answer(for: "a", now: start + .seconds(1)) == .found("RELAY"))
        #expect(cache.answer(for: "b", now: start + .seconds(1)) == .notFound)
        #expect(cache.answer(for: "b", now: start + .seconds(3)) == nil)
        #expect(cache.answer(for: "a", now: start + .seconds(11)) == nil)
        cache.store(.found("x"), for: "c", ttl: .zero, now: start)
        #expect(cache.answer(for: "c", now: start) == nil)
    }

    @Test("a full cache drops its oldest entries, never growing past its capacity")
    func capacity() {
        let cache = MailMapCache(capacity: 3)
        let now = ContinuousClock.now
        for index in 0..<1000 {
            cache.store(.found("\(index)"), for: "key\(index % 7)", ttl: .seconds(60), now: now)
            #expect(cache.count <= 3)
        }
        // The last three keys written are the ones kept.
        let kept = (0..<7).filter { cache.answer(for: "key\($0)", now: now) != nil }
        #expect(kept.count == 3)
        #expect(cache.answer(for: "key\(999 % 7)", now: now) == .found("999"))
    }

    @Test("a cached map answers from memory within the TTL, then asks the map again")
    func cachedMap() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example OK\n")
        let file = try TextMap(path: path, options: MailMapOptions(reloadInterval: .zero))
        let cache = MailMapCache()
        let cached = CachedMailMap(map: file, cache: cache, ttl: .seconds(3600))
        #expect(try await cached.lookup("a.example") == "OK")
        #expect(try await cached.lookup("b.example") == nil)
        try directory.write("access", "a.example REJECT\nb.example RELAY\n")
        #expect(try await cached.lookup("a.example") == "OK")
        #expect(try await cached.lookup("b.example") == nil)
        // A search answers the leading keys the cache knows and asks the map for the rest.
        let search = await cached.search(["b.example", "c.example", "a.example"])
        #expect(search.probes.map(\.outcome) == [.notFound, .notFound, .found("REJECT")])
        cache.removeAll()
        #expect(try await cached.lookup("a.example") == "REJECT")
        #expect(try await cached.lookup("b.example") == "RELAY")
    }

    @Test("errors are not cached")
    func errorsNotCached() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example OK\n")
        let file = try TextMap(path: path, options: MailMapOptions(reloadInterval: .zero))
        let cached = CachedMailMap(map: file, ttl: .seconds(3600))
        try directory.write("access", "broken\n")
        await #expect(throws: MailMapError.self) { try await cached.lookup("a.example") }
        try directory.write("access", "a.example FIXED\n")
        #expect(try await cached.lookup("a.example") == "FIXED")
    }

    @Test("work runs on the pool's threads, and inline when already there")
    func poolThreads() async throws {
        let pool = MailMapThreadPool(threads: 2, name: "test")
        defer { pool.shutdown() }
        #expect(!pool.isCurrentThreadInPool)
        let onPool = await pool.run { pool.isCurrentThreadInPool }
        #expect(onPool)
        let nested = await pool.run { () -> Bool in
            // Already on the pool: run() would not hop; isCurrentThreadInPool says so.
            pool.isCurrentThreadInPool && !MailMapThreadPool.shared.isCurrentThreadInPool
        }
        #expect(nested)
    }

    @Test("typed errors come back from the pool")
    func poolErrors() async {
        let pool = MailMapThreadPool(threads: 1)
        defer { pool.shutdown() }
        let error = await #expect(throws: MailMapError.self) {
            try await pool.run { () throws(MailMapError) -> Int in
                throw MailMapError(.lookupFailed, map: "test", message: "failed on the pool")
            }
        }
        #expect(error?.message == "failed on the pool")
    }

    @Test("work given to a pool that was shut down still runs, on the caller's thread")
    func afterShutdown() async {
        let pool = MailMapThreadPool(threads: 1)
        #expect(await pool.run { 1 } == 1)
        pool.shutdown()
        #expect(await pool.run { pool.isCurrentThreadInPool } == false)
    }

    @Test("many concurrent calls all complete, with more callers than threads")
    func concurrency() async {
        let pool = MailMapThreadPool(threads: 2)
        defer { pool.shutdown() }
        let total = await withTaskGroup(of: Int.self) { group in
            for index in 0..<500 {
                group.addTask { await pool.run { index } }
            }
            return await group.reduce(0, +)
        }
        #expect(total == (0..<500).reduce(0, +))
    }

    @Test("a task that prefers the pool as its executor runs there, and lookups do not hop")
    func taskExecutorPreference() async throws {
        let pool = MailMapThreadPool(threads: 1)
        defer { pool.shutdown() }
        let onPool = await withTaskExecutorPreference(pool) {
            await Self.currentThreadIsIn(pool)
        }
        #expect(onPool)
        let outside = await Self.currentThreadIsIn(pool)
        #expect(!outside)
    }

    private nonisolated static func currentThreadIsIn(_ pool: MailMapThreadPool) async -> Bool {
        pool.isCurrentThreadInPool
    }
}
