/// Several maps searched in order: the first that has the key answers (Sendmail's `sequence`
/// map class, Postfix's lists of tables). An error in one map stops the lookup with that error,
/// as in Postfix's maps.c: a later map is never asked in place of a broken one.
public struct SequenceMap: ListableMailMap {
    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// The maps, in search order.
    public let maps: [any MailMap]

    /// A sequence of `maps`, described by `spec` (`sequence:{ hash:/a, text:/b }`).
    public init(spec: String, maps: [any MailMap]) {
        self.spec = spec
        self.maps = maps
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        for map in maps {
            if let value = try await map.lookup(key) { return value }
        }
        return nil
    }

    /// The entries of every map, the first map's entry winning for a key several maps have.
    ///
    /// - Throws: ``MailMapError`` of kind `unsupported` when one of the maps cannot be listed.
    public func entries() async throws(MailMapError) -> [MailMapEntry] {
        var seen = Set<String>()
        var all: [MailMapEntry] = []
        for map in maps {
            guard let listable = map as? any ListableMailMap else {
                throw MailMapError(.unsupported, map: spec,
                    message: "\(spec): \(map.spec) cannot be listed, so neither can the sequence")
            }
            for entry in try await listable.entries() where seen.insert(entry.key).inserted {
                all.append(entry)
            }
        }
        return all
    }
}
