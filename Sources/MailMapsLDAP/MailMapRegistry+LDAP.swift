public import MailMaps
public import MailSystem

extension MailMapRegistry {
    /// Adds `ldap:` (``LDAPMap``, with its answers kept in a ``CachedMailMap`` for the spec's
    /// `-c` seconds, 60 unless told).
    ///
    /// - Parameter threadPool: where LDAP searches run: LDAP's own pool
    ///   (`WorkerPool.Configuration.ldapLookups`) unless given another, never the registry's
    ///   file-map pool, so that a slow or hung LDAP server (searches wait up to `-l` seconds) cannot
    ///   occupy the threads other maps' lookups need.
    public mutating func registerLDAP(threadPool: WorkerPool = .ldapLookups) {
        register("ldap") { (spec, registry) throws(MailMapError) -> any MailMap in
            let configuration = try LDAPMap.Configuration(spec: spec)
            let map = try LDAPMap(configuration: configuration, spec: spec.description, threadPool: threadPool)
            guard configuration.cacheTTL > .zero || configuration.negativeCacheTTL > .zero else { return map }
            return CachedMailMap(map: map, ttl: configuration.cacheTTL, negativeTTL: configuration.negativeCacheTTL)
        }
    }
}
