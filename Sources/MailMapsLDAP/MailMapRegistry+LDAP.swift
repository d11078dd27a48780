public import MailMaps

extension MailMapRegistry {
    /// Adds `ldap:` (``LDAPMap``, with its answers kept in a ``CachedMailMap`` for the spec's
    /// `-c` seconds, 60 unless told).
    ///
    /// - Parameter threadPool: where LDAP searches run; the registry's pool when `nil`. A pool of
    ///   their own keeps a slow LDAP server (searches wait up to `-l` seconds) from occupying the
    ///   threads other maps' lookups need.
    public mutating func registerLDAP(threadPool: MailMapThreadPool? = nil) {
        register("ldap") { (spec, registry) throws(MailMapError) -> any MailMap in
            let configuration = try LDAPMap.Configuration(spec: spec)
            let map = try LDAPMap(configuration: configuration, spec: spec.description, threadPool: threadPool ?? registry.threadPool)
            guard configuration.cacheTTL > .zero || configuration.negativeCacheTTL > .zero else { return map }
            return CachedMailMap(map: map, ttl: configuration.cacheTTL, negativeTTL: configuration.negativeCacheTTL)
        }
    }
}
