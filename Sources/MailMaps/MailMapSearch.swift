/// What a search of several keys in one map gave: every key tried, in order, ending with the
/// first one found or the first error (see ``MailMap/search(_:)``).
public struct MailMapSearch: Hashable, Sendable {
    /// The keys tried, in order, with their outcomes. Only the last can be found or failed.
    public let probes: [MailMapProbe]

    /// A search that tried `probes`.
    public init(probes: [MailMapProbe]) {
        self.probes = probes
    }

    /// The probe that found a value, if the search found one.
    public var match: MailMapProbe? {
        guard let last = probes.last, case .found = last.outcome else { return nil }
        return last
    }

    /// The error that stopped the search, if one did.
    public var error: MailMapError? {
        guard let last = probes.last, case .failed(let error) = last.outcome else { return nil }
        return error
    }

    /// The probe that found a value, `nil` when no key was found.
    ///
    /// - Throws: the ``MailMapError`` that stopped the search.
    public func get() throws(MailMapError) -> MailMapProbe? {
        if let error { throw error }
        return match
    }

    /// Runs the search of ``MailMap/search(_:)`` with a synchronous `lookup`: maps whose lookups
    /// block make the whole search in one trip to their worker pool with this.
    package static func collect(
        spec: String, keys: [String], lookup: (String) throws(MailMapError) -> String?
    ) -> MailMapSearch {
        var probes: [MailMapProbe] = []
        probes.reserveCapacity(keys.count)
        for key in keys {
            do {
                if let value = try lookup(key) {
                    probes.append(MailMapProbe(map: spec, key: key, outcome: .found(value)))
                    break
                }
                probes.append(MailMapProbe(map: spec, key: key, outcome: .notFound))
            } catch {
                probes.append(MailMapProbe(map: spec, key: key, outcome: .failed(error)))
                break
            }
        }
        return MailMapSearch(probes: probes)
    }
}
