public import MailMaps

extension MailMapRegistry {
    /// Adds `ldap:` (``LDAPMap``, with its answers kept in a ``CachedMailMap`` for the spec's
    /// `-c` seconds, 60 unless told).
    public mutating func registerLDAP() {
        register("ldap") { (spec, registry) throws(MailMapError) -> any MailMap in
            let configuration = try LDAPMap.Configuration(spec: spec)
            let map = try LDAPMap(configuration: configuration, spec: spec.description, threadPool: registry.threadPool)
            guard configuration.cacheTTL > .zero || configuration.negativeCacheTTL > .zero else { return map }
            return CachedMailMap(map: map, ttl: configuration.cacheTTL, negativeTTL: configuration.negativeCacheTTL)
        }
    }
}
