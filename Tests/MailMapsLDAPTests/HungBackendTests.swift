import Foundation
import MailMaps
import MailMapsBerkeleyDB
import MailMapsLDAP
import MailSystem
import Synchronization
import Testing
import TestSupport

/// One unanswered backend must never take the threads other maps need: an LDAP server that
/// accepts connections and never answers, and a nameserver that never answers, each flooded with
/// more lookups than its pool holds, while an unrelated `hash:` map is looked up in a loop.
///
/// Before MailSystem's pools, every map shared one pool of four threads: the hung lookups took all
/// four (two inside libldap, two waiting for its connections) and every `hash:` lookup waited
/// behind them (`make bench-maps` shows the rate then, "LDAP on the hash: map's pool, as before").
@Suite("a hung LDAP or DNS server never stalls hash: lookups", .serialized)
struct HungBackendTests {
    /// The order lookups of the hung backend ended in, and how.
    private final class Outcomes: Sendable {
        let ended = Mutex<[String]>([])
        func record(_ error: MailMapError?) {
            let outcome = switch error {
            case nil: "answered"
            case let error? where error.message.contains("is full"): "refused"
            case let error? where error.message.contains("no answer within"): "late"
            case let error?: "failed: \(error.kind): \(error.message)"
            }
            ended.withLock { $0.append(outcome) }
        }
        var count: Int { ended.withLock { $0.count } }
        var list: [String] { ended.withLock { $0 } }
    }

    /// A `hash:` map of 1,000 keys on a pool of the maps' default size, and the keys.
    private static func hashMap(in directory: TemporaryDirectory, pool: WorkerPool) throws -> (BerkeleyDBMap, [String]) {
        let path = directory.file("access.db")
        let entries = (0..<1000).map { MailMapTextParser.Entry(key: "host\($0).example.com", value: "RELAY", line: $0 + 1) }
        _ = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash)).write(entries)
        return (try BerkeleyDBMap(path: path, format: .hash, threadPool: pool), entries.map(\.key))
    }

    /// Looks `count` keys up; how many were found.
    private static func lookUp(_ map: BerkeleyDBMap, _ keys: [String], count: Int) async throws -> Int {
        var found = 0
        for index in 0..<count where try await map.lookup(keys[index % keys.count]) == "RELAY" { found += 1 }
        return found
    }

    /// Floods a hung backend with `lookups` lookups at once on its pool of 2 threads and 2 queue
    /// places with a 5-second deadline, while the hash: map keeps answering; returns the rate of
    /// hash lookups alone and during the hang.
    private static func flood(
        lookups: Int, reachedBackend: @escaping @Sendable () -> Bool,
        _ lookup: @escaping @Sendable (Int) async throws(MailMapError) -> Void
    ) async throws -> (alone: Double, during: Double, outcomes: [String]) {
        let directory = try TemporaryDirectory()
        let mapsPool = WorkerPool(.mailMaps)
        defer { mapsPool.shutdown() }
        let (map, keys) = try hashMap(in: directory, pool: mapsPool)
        let probes = 2_000

        var start = ContinuousClock.now
        #expect(try await lookUp(map, keys, count: probes) == probes)
        let alone = Double(probes) / Self.seconds(ContinuousClock.now - start)

        let outcomes = Outcomes()
        let flood = (0..<lookups).map { index in
            Task {
                do throws(MailMapError) {
                    try await lookup(index)
                    outcomes.record(nil)
                } catch {
                    outcomes.record(error)
                }
            }
        }
        // The pool's two threads are inside the C library, waiting on the hung server, once it
        // has seen them; the lookups beyond the threads and the queue were refused by then.
        for _ in 0..<1000 where !(reachedBackend() && outcomes.count >= lookups - 4) {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(reachedBackend(), "the hung server never saw a lookup")
        #expect(outcomes.list == Array(repeating: "refused", count: lookups - 4), "fast refusals first: \(outcomes.list)")

        start = ContinuousClock.now
        #expect(try await lookUp(map, keys, count: probes) == probes)
        let during = Double(probes) / Self.seconds(ContinuousClock.now - start)
        #expect(outcomes.count == lookups - 4, "every hash: lookup was answered while the hung lookups still waited")

        for task in flood { await task.value }
        return (alone, during, outcomes.list)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func hungPool(_ name: String) -> WorkerPool {
        WorkerPool(.init(name: name, threads: 2, queueLimit: 2, deadline: .seconds(5)))
    }

    @Test("a hung LDAP server: LDAP lookups fail at once beyond the pool's bounds, or at its deadline; hash: lookups flow")
    func hungLDAP() async throws {
        let server = try SilentTCPServer()
        defer { server.stop() }
        let ldapPool = Self.hungPool("ldap-hung")
        var registry = MailMapRegistry.standard
        registry.registerLDAP(threadPool: ldapPool)
        // libldap's own timeout (-l 6) is longer than the pool's deadline: the callers hear first.
        let ldap = try await registry.open("ldap:-H \(server.ldapURI) -b dc=example,dc=test -k (mail=%0) -v mail -l 6 -c 0")
        let (alone, during, outcomes) = try await Self.flood(lookups: 12, reachedBackend: { server.connections > 0 }) { (index) throws(MailMapError) in
            _ = try await ldap.lookup("user\(index)@example.test")
        }
        #expect(outcomes == Array(repeating: "refused", count: 8) + Array(repeating: "late", count: 4), "\(outcomes)")
        print("hung LDAP server: hash: lookups/s alone \(Int(alone)), during the hang \(Int(during)) (ratio \(String(format: "%.2f", alone / during)))")
        // Shutting the LDAP pool down waits for the two calls inside libldap (its 6-second timeout).
        server.stop()
        try await offThread { ldapPool.shutdown() }
        let after = await #expect(throws: MailMapError.self) { try await ldap.lookup("user@example.test") }
        #expect(after?.kind == .unavailable)
        #expect(after?.message.contains("worker pool ldap-hung is shut down") == true, "\(String(describing: after))")
    }

    @Test("a hung nameserver: DNS lookups fail at once beyond the pool's bounds, or at its deadline; hash: lookups flow")
    func hungDNS() async throws {
        let silent = try SilentUDPPort()
        let dnsPool = Self.hungPool("dns-hung")
        let resolver = DNSResolver(
            configuration: .init(nameservers: [try .init(address: "127.0.0.1", port: silent.port)], timeout: .seconds(3), attempts: 2),
            threadPool: dnsPool)
        // The resolver's own wait (3 s, twice) is longer than the pool's deadline.
        let dns = try DNSMap(spec: MailMapSpec("dns:-R A"), resolver: resolver)
        let (alone, during, outcomes) = try await Self.flood(lookups: 12, reachedBackend: { silent.unreadBytes > 0 }) { (index) throws(MailMapError) in
            _ = try await dns.lookup("host\(index).hung.example")
        }
        #expect(outcomes == Array(repeating: "refused", count: 8) + Array(repeating: "late", count: 4), "\(outcomes)")
        print("hung nameserver: hash: lookups/s alone \(Int(alone)), during the hang \(Int(during)) (ratio \(String(format: "%.2f", alone / during)))")
        try await offThread { dnsPool.shutdown() }
    }
}
