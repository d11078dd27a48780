public import MailMaps
public import MailSystem
import Synchronization

/// An LDAP search as a map, Sendmail's `ldap` map class: the key is put into a filter, and the
/// values of the result attributes are the answer (Sendmail's LDAP routing looks up
/// `mailLocalAddress` and answers `mailRoutingAddress`).
///
/// A spec writes the map the way a Sendmail `K` line does:
///
/// ```
/// ldap:-H ldap://127.0.0.1:3890 -b dc=example,dc=test -k (mailLocalAddress=%0) -v mailRoutingAddress
/// ```
///
/// | flag | meaning |
/// |---|---|
/// | `-H uri` | the server's URI, or several in quotes (`ldap://`, `ldaps://`, `ldapi://`) |
/// | `-h host`, `-p port` | the server as host and port, when there is no `-H` |
/// | `-b base` | the search base (quote a DN with spaces) |
/// | `-s base\|one\|sub` | the scope (default `sub`) |
/// | `-k filter` | the filter, with `%0`/`%s` for the key, `%u` and `%d` for its local part and domain |
/// | `-v attr,attr` | the attributes to return; without it the answer is the entry's DN |
/// | `-d dn`, `-P file` | simple bind as `dn` with the password in `file` |
/// | `-M method` | `LDAP_AUTH_NONE`, `LDAP_AUTH_SIMPLE` or `LDAP_AUTH_SASL` |
/// | `-Y mech`, `-U authcid`, `-X authzid` | a SASL bind (`-Y EXTERNAL` over `ldapi://`), password from `-P` |
/// | `-l seconds` | connect and search time limit (default 5) |
/// | `-Z count` | the most entries a search may return |
/// | `-1` | more than one matching entry is "not found" |
/// | `-z delim` | join all values with `delim`; without it the first value is the answer |
/// | `-c seconds` | keep answers this long (default 60; 0 keeps none) |
/// | `-f` | do not fold the key to lower case |
/// | `-T…`, `-R`, `-w 3` | accepted for Sendmail compatibility (temporary failures are always errors, referrals are never followed, the protocol is always version 3) |
///
/// Lookups run on a `WorkerPool` of LDAP's own (`WorkerPool.Configuration.ldapLookups` unless
/// given another) over a few reused connections (``Configuration/connections``), each of which
/// binds once and reconnects, and binds again, when the server went away. A server that hangs
/// occupies that pool only; a search the pool cannot take (its queue is full), or that is not
/// answered within the pool's deadline, fails at once with kind `unavailable`, a temporary
/// failure. (Connecting, binding and searching may each take ``Configuration/timeout``: give maps
/// that wait longer than the pool's deadline a pool with a longer one.)
public final class LDAPMap: MailMap {
    /// The `type:name` spec the map was opened from, for messages and traces.
    public let spec: String
    /// What is searched, where, and how.
    public let configuration: Configuration
    /// Where the blocking searches run.
    public let threadPool: WorkerPool

    private let filter: LDAPFilterTemplate
    private let connections: [LDAPConnection]
    private let next = Atomic<Int>(0)

    /// A map searching as `configuration` says.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for a URI or filter that does not parse.
    public init(configuration: Configuration, spec: String? = nil, threadPool: WorkerPool = .ldapLookups) throws(MailMapError) {
        let description = spec ?? "ldap:-H \(configuration.uris.joined(separator: " ")) -b \(configuration.base) -k \(configuration.filter)"
        self.spec = description
        self.configuration = configuration
        self.threadPool = threadPool
        self.filter = try LDAPFilterTemplate(configuration.filter, map: description)
        var connections: [LDAPConnection] = []
        for _ in 0..<max(1, configuration.connections) {
            do {
                connections.append(try LDAPConnection(
                    uri: configuration.uris.joined(separator: " "), timeout: configuration.timeout,
                    credentials: configuration.credentials))
            } catch {
                throw MailMapError(error.kind, map: description, message: "\(description): \(error.message)")
            }
        }
        self.connections = connections
    }

    /// The value for `key`, searching now; synchronous and blocking. ``lookup(_:)`` is the same on
    /// the worker pool.
    ///
    /// - Throws: ``MailMapError``: `unavailable` when the server cannot be reached,
    ///   `lookupFailed` for an error result.
    public func value(forKey key: String) throws(MailMapError) -> String? {
        // A NUL never belongs in a mail key; servers differ in how they match one (slapd ignores
        // what follows it), so such a key is not searched at all.
        guard !key.utf8.contains(0) else { return nil }
        let folded = configuration.foldsCase ? MailMapOptions.asciiLowercased(key) : key
        guard let filter = filter.filter(for: folded) else { return nil }
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let connection = connections[Int(UInt(bitPattern: index) % UInt(connections.count))]
        let attributes = configuration.attributes.isEmpty ? ["1.1"] : configuration.attributes
        let entries: [LDAPConnection.Entry]
        do {
            entries = try connection.search(
                base: configuration.base, scope: configuration.scope, filter: filter,
                attributes: attributes, sizeLimit: configuration.sizeLimit)
        } catch {
            throw MailMapError(error.kind, map: spec, message: "\(spec): \(error.message)")
        }
        if configuration.requiresSingleMatch && entries.count > 1 { return nil }
        let values: [String] = configuration.attributes.isEmpty
            ? entries.map(\.dn)
            : entries.flatMap { entry in configuration.attributes.flatMap { entry.attributes[$0] ?? [] } }
        guard let first = values.first else { return nil }
        guard let delimiter = configuration.delimiter else { return first }
        return values.joined(separator: delimiter)
    }

    /// The value for `key`, `nil` when there is none (see ``MailMap/lookup(_:)``).
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        try await threadPool.run(forMap: spec) { () throws(MailMapError) -> String? in
            try self.value(forKey: key)
        }
    }

    /// Searches `keys` in one trip to the worker pool.
    public func search(_ keys: [String]) async -> MailMapSearch {
        await threadPool.search(forMap: spec, keys: keys) {
            MailMapSearch.collect(spec: self.spec, keys: keys) { (key) throws(MailMapError) -> String? in
                try self.value(forKey: key)
            }
        }
    }
}
