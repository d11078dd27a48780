public import MailSystem

extension WorkerPool.Configuration {
    /// The pool of LDAP searches (``LDAPMap``): 4 threads, at most 64 searches waiting, each
    /// answered within 20 seconds (connecting, binding and searching may each take the map's
    /// 5-second `-l` timeout). An LDAP server that accepts connections and never answers occupies these
    /// threads only: `hash:`, `text:` and `dns:` lookups run on pools of their own, and once this
    /// pool is full further LDAP lookups fail at once with a temporary error.
    public static let ldapLookups = WorkerPool.Configuration(
        name: "ldap", threads: 4, queueLimit: 64, deadline: .seconds(20))
}

extension WorkerPool {
    /// The pool LDAP maps use unless given another (`WorkerPool.Configuration.ldapLookups`);
    /// never shut down.
    public static let ldapLookups = WorkerPool(.ldapLookups)
}
