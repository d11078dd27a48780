public import MailSystem

extension WorkerPool.Configuration {
    /// The pool of local file maps and of opening maps: Berkeley DB reads (`hash:`, `btree:`),
    /// reading a changed `text:`/`aliases:`/`list:` file again, and the routing decisions that
    /// prefer it as their task executor. 4 threads, at most 4,096 calls waiting, each answered
    /// within 30 seconds (a Berkeley DB renewal waits up to its 10-second lock timeout for a
    /// program rewriting the file).
    public static let mailMaps = WorkerPool.Configuration(
        name: "mailmaps", threads: 4, queueLimit: 4_096, deadline: .seconds(30))

    /// The pool of DNS queries (``DNSResolver``, `dns:` maps, MX, TLSA and DNSBL lookups) through
    /// the libc resolver, which waits for its nameservers: 8 threads, at most 256 queries waiting,
    /// each answered within 15 seconds (the resolver's default 5-second timeout and two attempts,
    /// and a margin).
    /// A nameserver that never answers occupies these threads only.
    public static let dnsLookups = WorkerPool.Configuration(
        name: "dns", threads: 8, queueLimit: 256, deadline: .seconds(15))
}

extension WorkerPool {
    /// The pool file maps and Berkeley DB maps use unless given another
    /// (`WorkerPool.Configuration.mailMaps`); never shut down.
    public static let mailMaps = WorkerPool(.mailMaps)

    /// The pool DNS queries use unless given another (`WorkerPool.Configuration.dnsLookups`);
    /// never shut down.
    public static let dnsLookups = WorkerPool(.dnsLookups)

    /// Runs a map's blocking work; a pool that is full, late or shut down fails it with a
    /// ``MailMapError`` of kind `unavailable` naming `map` — a temporary failure (451 4.3.0).
    package func run<T: Sendable>(
        forMap map: String, deadline: Duration? = nil, _ body: @escaping @Sendable () throws(MailMapError) -> T
    ) async throws(MailMapError) -> T {
        try await run(deadline: deadline, body) { error in
            MailMapError(.unavailable, map: map, message: "\(map): \(error.message); try again later")
        }
    }

    /// Runs a map's search of several keys in one trip; when the pool cannot take it, the search
    /// ends at its first key with the pool's error.
    package func search(forMap map: String, keys: [String], _ body: @escaping @Sendable () -> MailMapSearch) async -> MailMapSearch {
        do {
            return try await run(deadline: nil, body)
        } catch {
            guard let first = keys.first else { return MailMapSearch(probes: []) }
            let failure = MailMapError(.unavailable, map: map, message: "\(map): \(error.message); try again later")
            return MailMapSearch(probes: [MailMapProbe(map: map, key: first, outcome: .failed(failure))])
        }
    }
}
