import Foundation
import MailMaps
import MailSystem
import Testing
import TestSupport

@Suite("the answer cache and the maps' worker pool")
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

    @Test("a pool that cannot take the work fails the map's operation at once as unavailable, naming the map")
    func fullPool() async throws {
        let pool = WorkerPool(.init(name: "maps-full", threads: 1, queueLimit: 1, deadline: .seconds(600)))
        let registry = {
            var registry = MailMapRegistry(threadPool: pool)
            registry.registerStandardTypes()
            return registry
        }()
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let busy = Task { try await pool.run { started.signal(); gate.wait() } }
        try await offThread { started.wait() }
        // Two opens: whichever comes first waits in the queue's one place, the other is refused.
        try await withThrowingTaskGroup(of: Result<String?, MailMapError>.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    do throws(MailMapError) {
                        return .success(try await registry.open("inline:{ a=b }").lookup("a"))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            let first = try #require(try await group.next())
            guard case .failure(let error) = first else {
                Issue.record("a map opened although the pool's only thread was busy and its queue full")
                return
            }
            #expect(error.kind == .unavailable)
            #expect(error.map == "inline:{ a=b }")
            #expect(error.message == "inline:{ a=b }: worker pool maps-full is full: 1 calls wait for its 1 threads; try again later")
            gate.signal()
            #expect(try await group.next() == .success("b"))
        }
        try await busy.value
        #expect(try await registry.open("inline:{ a=b }").lookup("a") == "b")
        pool.shutdown()
    }

    @Test("a task that prefers the maps' pool runs there, and the pool's work runs inline without a hop")
    func taskExecutorPreference() async throws {
        let pool = WorkerPool(.init(name: "maps-prefer", threads: 1, queueLimit: 4, deadline: .seconds(30)))
        defer { pool.shutdown() }
        let (onPool, inline) = await withTaskExecutorPreference(pool) { () async -> (Bool, Bool) in
            let thread = pthread_self()
            let inline = (try? await pool.run { pthread_equal(pthread_self(), thread) != 0 }) ?? false
            return (await Self.currentThreadIsIn(pool), inline)
        }
        #expect(onPool)
        #expect(inline)
        let outside = await Self.currentThreadIsIn(pool)
        #expect(!outside)
    }

    private nonisolated static func currentThreadIsIn(_ pool: WorkerPool) async -> Bool {
        pool.isCurrentThreadInPool
    }
}
