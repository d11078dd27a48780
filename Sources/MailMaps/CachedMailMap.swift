/// A map whose answers are kept in a ``MailMapCache`` for a while: a remote map (LDAP) asked again
/// for the same key within the TTL answers from memory. Errors are not cached: the next lookup
/// asks the map again.
public struct CachedMailMap: MailMap {
    /// The spec of the map underneath.
    public var spec: String { map.spec }
    /// The map underneath.
    public let map: any MailMap
    /// Where answers are kept.
    public let cache: MailMapCache
    /// How long a found value is kept.
    public let ttl: Duration
    /// How long "not found" is kept.
    public let negativeTTL: Duration

    /// Caches the answers of `map` in `cache`: found values for `ttl`, "not found" for
    /// `negativeTTL` (the same as `ttl` when not given).
    public init(map: any MailMap, cache: MailMapCache = MailMapCache(), ttl: Duration, negativeTTL: Duration? = nil) {
        self.map = map
        self.cache = cache
        self.ttl = ttl
        self.negativeTTL = negativeTTL ?? ttl
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        switch cache.answer(for: key) {
        case .found(let value): return value
        case .notFound: return nil
        case nil: break
        }
        let value = try await map.lookup(key)
        remember(value, for: key)
        return value
    }

    /// Answers the leading keys the cache knows, and asks the map underneath for the rest in one
    /// search.
    public func search(_ keys: [String]) async -> MailMapSearch {
        var probes: [MailMapProbe] = []
        for (index, key) in keys.enumerated() {
            switch cache.answer(for: key) {
            case .found(let value):
                probes.append(MailMapProbe(map: spec, key: key, outcome: .found(value)))
                return MailMapSearch(probes: probes)
            case .notFound:
                probes.append(MailMapProbe(map: spec, key: key, outcome: .notFound))
            case nil:
                let rest = await map.search(Array(keys[index...]))
                for probe in rest.probes {
                    switch probe.outcome {
                    case .found(let value): remember(value, for: probe.key)
                    case .notFound: remember(nil, for: probe.key)
                    case .failed: break
                    }
                }
                return MailMapSearch(probes: probes + rest.probes)
            }
        }
        return MailMapSearch(probes: probes)
    }

    private func remember(_ value: String?, for key: String) {
        if let value {
            cache.store(.found(value), for: key, ttl: ttl)
        } else {
            cache.store(.notFound, for: key, ttl: negativeTTL)
        }
    }
}
