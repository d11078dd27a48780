// Lookups per second through MailMaps, side by side with the C library in the same run.
//
//   make bench-maps
//
// Berkeley DB: a hash map of 10,000 entries written by swiftmta's writer, read through
// - the Berkeley DB C API directly (db->get in a loop: the peer, BerkeleyDBRawReader),
// - BerkeleyDBMap.value(forKey:) (MailMaps' synchronous path),
// - await lookup() from a task on Swift's cooperative pool (one hop to the lookup pool each),
// - await lookup() from a task that prefers the lookup pool as its executor (no hop),
// - await search() of a host and its parent domains (one hop per search of four keys),
// and the ratio of each to the C loop (C and MailMaps' synchronous path run in alternating
// rounds, so that both see the same load). LDAP: a private slapd with 1,000 entries, lookups
// uncached (every lookup a search on the server) and cached.
//
// Hung backends: hash: lookups per second from 8 tasks for a few seconds, alone, then while 64
// tasks keep looking up an ldap: map whose server accepts connections and never answers, then
// while 64 tasks keep querying a nameserver that never answers — each on its own pool, as the
// registry sets them up — and, for comparison, with the hung LDAP map on the hash: map's own pool
// (as every map shared one pool before). Ratio = rate alone / rate during the hang.
//
// MAILMAPS_BENCH_SYNC_ONLY=1 stops after the C and synchronous rows.
import Foundation
import MailMaps
import MailMapsBerkeleyDB
import MailMapsLDAP
import MailSystem
import Synchronization
import TestSupport

let rounds = 5

nonisolated func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The best of `rounds` runs of `body`, which makes `count` lookups, as lookups per second.
nonisolated func measure(_ count: Int, _ body: () throws -> Int) rethrows -> Double {
    var best = 0.0
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        let found = try body()
        let elapsed = seconds(ContinuousClock.now - start)
        precondition(found == count, "expected \(count) hits, got \(found)")
        best = max(best, Double(count) / elapsed)
    }
    return best
}

/// Runs `peer` and `candidate` (each making `count` lookups) in 15 alternating rounds, so that
/// both see the same load on a shared machine; returns the best rate of each and the median of
/// the rounds' ratios (peer rate / candidate rate), which load drift disturbs least.
nonisolated func alternate(_ count: Int, peer: () throws -> Int, candidate: () throws -> Int) rethrows -> (Double, Double, Double) {
    var best = (0.0, 0.0)
    var ratios: [Double] = []
    for _ in 0..<15 {
        let peerRate = try measureOnce(count, peer)
        let candidateRate = try measureOnce(count, candidate)
        best.0 = max(best.0, peerRate)
        best.1 = max(best.1, candidateRate)
        ratios.append(peerRate / candidateRate)
    }
    ratios.sort()
    return (best.0, best.1, ratios[ratios.count / 2])
}

nonisolated func measureOnce(_ count: Int, _ body: () throws -> Int) rethrows -> Double {
    let start = ContinuousClock.now
    let found = try body()
    precondition(found == count, "expected \(count) hits, got \(found)")
    return Double(count) / seconds(ContinuousClock.now - start)
}

nonisolated func measureAsync(_ count: Int, _ body: () async throws -> Int) async rethrows -> Double {
    var best = 0.0
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        let found = try await body()
        let elapsed = seconds(ContinuousClock.now - start)
        precondition(found == count, "expected \(count) hits, got \(found)")
        best = max(best, Double(count) / elapsed)
    }
    return best
}

nonisolated func row(_ name: String, _ rate: Double, against peer: Double?) {
    let ratio = peer.map { rate < 1 ? "stalled" : String(format: "%6.2fx", $0 / rate) } ?? "      -"
    let padded = name.count < 60 ? name + String(repeating: " ", count: 60 - name.count) : name
    print("  " + padded + String(format: " %12.0f/s  ", rate) + ratio)
}

nonisolated func benchmarks() async throws {
    let entryCount = 10_000
    let keyCount = 1_000

    // MARK: Berkeley DB

    let directory = try TemporaryDirectory(prefix: "swiftmta-bench")
    let path = directory.file("access.db")
    let entries = (0..<entryCount).map {
        MailMapTextParser.Entry(key: "host\($0).example.com", value: "RELAY\($0 % 100)", line: $0 + 1)
    }
    _ = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash)).write(entries)
    let keys = (0..<keyCount).map { "host\(($0 * 7919) % entryCount).example.com" }
    let lookups = 1_000_000

    print("Berkeley DB hash map, \(entryCount) entries, \(lookups) lookups of \(keyCount) keys (best of \(rounds); ratio = C rate / this rate)")

    // The peer: the C API, one handle, db->get in a loop, keys prepared as C strings.
    guard let peer = BerkeleyDBRawReader(path: path, format: .hash, keys: keys) else {
        fatalError("the C API cannot open \(path)")
    }
    let pool = WorkerPool(.init(name: "bench", threads: 4, queueLimit: 4_096, deadline: .seconds(30)))
    let map = try BerkeleyDBMap(path: path, format: .hash, threadPool: pool)
    let (cRate, syncRate, medianRatio) = try alternate(lookups / 5, peer: {
        peer.lookups(lookups / 5)
    }, candidate: {
        var found = 0
        for index in 0..<lookups / 5 where try map.value(forKey: keys[index % keyCount]) != nil { found += 1 }
        return found
    })
    row("C: db->get", cRate, against: nil)
    row("MailMaps: BerkeleyDBMap.value(forKey:)", syncRate, against: cRate)
    print(String(format: "  (median of 15 interleaved rounds' ratios, C / MailMaps synchronous: %.2fx)", medianRatio))

    if ProcessInfo.processInfo.environment["MAILMAPS_BENCH_SYNC_ONLY"] != nil { return }
    let hopLookups = 100_000
    let hopRate = try await measureAsync(hopLookups) {
        var found = 0
        for index in 0..<hopLookups where try await map.lookup(keys[index % keyCount]) != nil { found += 1 }
        return found
    }
    row("MailMaps: await lookup(), from the cooperative pool", hopRate, against: cRate)

    let preferredRate = try await withTaskExecutorPreference(pool) {
        try await measureAsync(lookups) {
            var found = 0
            for index in 0..<lookups where try await map.lookup(keys[index % keyCount]) != nil { found += 1 }
            return found
        }
    }
    row("MailMaps: await lookup(), task prefers the lookup pool", preferredRate, against: cRate)

    let searchKeys = (0..<keyCount).map { MailMapKeys.domainAndParents("mx.\(keys[$0])").reversed().map { $0 } }
    // Each search tries "com", "example.com", then the host (found): three probes a search.
    let searches = 100_000
    let searchRate = await measureAsync(searches * 3) {
        var probes = 0
        for index in 0..<searches {
            let result = await map.search(Array(searchKeys[index % keyCount].prefix(3)))
            probes += result.probes.count
        }
        return probes
    }
    row("MailMaps: await search() of 3 keys, per key probed", searchRate, against: cRate)

    let concurrentRate = try await measureAsync(hopLookups) {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var found = 0
                    for index in stride(from: task, to: hopLookups, by: 8) where try await map.lookup(keys[index % keyCount]) != nil {
                        found += 1
                    }
                    return found
                }
            }
            return try await group.reduce(0, +)
        }
    }
    row("MailMaps: await lookup(), 8 tasks at once", concurrentRate, against: cRate)

    // MARK: LDAP

    let ldapEntries = 1_000
    var ldif = ""
    for index in 0..<ldapEntries {
        ldif += """
            dn: uid=user\(index),dc=example,dc=test
            objectClass: inetOrgPerson
            objectClass: inetLocalMailRecipient
            uid: user\(index)
            cn: User \(index)
            sn: User
            mailLocalAddress: user\(index)@mn-linux.org
            mailRoutingAddress: user\(index)@real-time.com


            """
    }
    let slapd = try SlapdServer(ldif: ldif)
    let ldapPool = WorkerPool(.ldapLookups)
    let addresses = (0..<ldapEntries).map { "user\(($0 * 37) % ldapEntries)@mn-linux.org" }
    print("\nLDAP (private slapd on loopback, \(ldapEntries) entries, filter (mailLocalAddress=%0), best of \(rounds))")
    for connections in [1, 4] {
        let configuration = LDAPMap.Configuration(
            uris: [slapd.uri], base: slapd.suffix, filter: "(mailLocalAddress=%0)", attributes: ["mailRoutingAddress"],
            connections: connections, cacheTTL: .zero)
        let ldap = try LDAPMap(configuration: configuration, threadPool: ldapPool)
        let sequential = 2_000
        let uncached = try await measureAsync(sequential) {
            var found = 0
            for index in 0..<sequential where try await ldap.lookup(addresses[index % ldapEntries]) != nil { found += 1 }
            return found
        }
        row("uncached, one task, \(connections) connection(s)", uncached, against: nil)
        let parallel = try await measureAsync(sequential * 2) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        var found = 0
                        for index in stride(from: task, to: sequential * 2, by: 8) where try await ldap.lookup(addresses[index % ldapEntries]) != nil {
                            found += 1
                        }
                        return found
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        row("uncached, 8 tasks, \(connections) connection(s)", parallel, against: nil)
    }
    let cachedMap = CachedMailMap(
        map: try LDAPMap(configuration: .init(uris: [slapd.uri], base: slapd.suffix, filter: "(mailLocalAddress=%0)",
                                              attributes: ["mailRoutingAddress"], cacheTTL: .zero), threadPool: ldapPool),
        ttl: .seconds(3600))
    for address in addresses { _ = try await cachedMap.lookup(address) }
    let cachedLookups = 1_000_000
    let cached = try await measureAsync(cachedLookups) {
        var found = 0
        for index in 0..<cachedLookups where try await cachedMap.lookup(addresses[index % ldapEntries]) != nil { found += 1 }
        return found
    }
    row("cached (CachedMailMap, every key in the cache)", cached, against: nil)
    slapd.stop()
    ldapPool.shutdown()

    try await hungBackends(map: map, pool: pool, keys: keys)
    pool.shutdown()
}

/// hash: lookups per second from 8 tasks during `window`, and how many failed.
nonisolated func hashRate(_ map: BerkeleyDBMap, keys: [String], window: Duration) async -> (rate: Double, failed: Int) {
    let end = ContinuousClock.now + window
    let start = ContinuousClock.now
    let (found, failed) = await withTaskGroup(of: (Int, Int).self) { group in
        for task in 0..<8 {
            group.addTask {
                var found = 0, failed = 0, index = task
                while ContinuousClock.now < end {
                    do {
                        if try await map.lookup(keys[index % keys.count]) != nil { found += 1 }
                    } catch {
                        failed += 1
                    }
                    index += 8
                }
                return (found, failed)
            }
        }
        return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
    }
    return (Double(found) / seconds(ContinuousClock.now - start), failed)
}

/// Keeps 64 tasks calling `lookup` until the returned stop is called; counts their outcomes.
nonisolated func flood(_ lookup: @escaping @Sendable (Int) async throws(MailMapError) -> Void) -> @Sendable () async -> (Int, Int) {
    final class State: Sendable {
        let running = Atomic<Bool>(true)
        let counts = Mutex((fast: 0, late: 0))
    }
    let state = State()
    let tasks = (0..<64).map { task in
        Task {
            var index = task
            while state.running.load(ordering: .relaxed) {
                let start = ContinuousClock.now
                do { try await lookup(index) } catch {
                    let slow = ContinuousClock.now - start > .seconds(1)
                    state.counts.withLock { if slow { $0.late += 1 } else { $0.fast += 1 } }
                }
                index += 64
                if ContinuousClock.now - start < .milliseconds(1) { try? await Task.sleep(for: .milliseconds(5)) }
            }
        }
    }
    return {
        state.running.store(false, ordering: .relaxed)
        for task in tasks { await task.value }
        return state.counts.withLock { ($0.fast, $0.late) }
    }
}

nonisolated func hungBackends(map: BerkeleyDBMap, pool: WorkerPool, keys: [String]) async throws {
    let window = Duration.seconds(4)
    print("\nhash: lookups per second (8 tasks, \(window)) beside a hung backend flooded by 64 tasks (ratio = alone / during)")
    let alone = await hashRate(map, keys: keys, window: window)
    row("hash: alone", alone.rate, against: nil)

    let hungLDAP = try SilentTCPServer()
    let ldapConfiguration = LDAPMap.Configuration(
        uris: [hungLDAP.ldapURI], base: "dc=example,dc=test", filter: "(mailLocalAddress=%0)",
        attributes: ["mailRoutingAddress"], timeout: .seconds(5), cacheTTL: .zero)
    for (label, ldapPool) in [("own pool", WorkerPool(.ldapLookups)), ("the hash: map's pool, as before", pool)] {
        let ldap = try LDAPMap(configuration: ldapConfiguration, threadPool: ldapPool)
        let stop = flood { (index) throws(MailMapError) in _ = try await ldap.lookup("user\(index)@hung.example") }
        try await Task.sleep(for: .milliseconds(500))
        let during = await hashRate(map, keys: keys, window: window)
        let (fast, late) = await stop()
        row("hash: during a hung LDAP server, LDAP on \(label)", during.rate, against: alone.rate)
        print("    (hash: lookups failed: \(during.failed); LDAP lookups failed at once: \(fast), at their deadline: \(late))")
        if ldapPool !== pool { ldapPool.shutdown() }
    }
    hungLDAP.stop()

    let silent = try SilentUDPPort()
    let dnsPool = WorkerPool(.dnsLookups)
    let resolver = DNSResolver(
        configuration: .init(nameservers: [try .init(address: "127.0.0.1", port: silent.port)], timeout: .seconds(5), attempts: 2),
        threadPool: dnsPool)
    let stop = flood { (index) throws(MailMapError) in _ = try await resolver.ipv4Addresses("host\(index).hung.example") }
    try await Task.sleep(for: .milliseconds(500))
    let during = await hashRate(map, keys: keys, window: window)
    let (fast, late) = await stop()
    row("hash: during a hung nameserver, DNS on its own pool", during.rate, against: alone.rate)
    print("    (hash: lookups failed: \(during.failed); DNS queries failed at once: \(fast), at their deadline or timeout: \(late))")
    dnsPool.shutdown()
}

try await benchmarks()
