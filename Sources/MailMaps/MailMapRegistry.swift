public import MailSystem

/// Opens maps from their `type:name` specs: the types it knows, and what they share (the worker
/// pool for file maps' blocking work, the DNS resolver and its own pool, default file options).
///
/// A value, not a global: build one at start-up, register the optional types, and use it to open
/// every map of a configuration.
///
/// ```swift
/// var registry = MailMapRegistry.standard
/// registry.registerBerkeleyDB()   // hash: and btree: (MailMapsBerkeleyDB)
/// registry.registerLDAP()         // ldap: (MailMapsLDAP)
/// let access = try registry.open("hash:/etc/mail/access")
/// ```
///
/// The ``standard`` registry knows:
/// - `text:PATH` — `key value` source files (``TextMap``), flags `-o` (optional) and `-f` (keep case);
/// - `aliases:PATH` — aliases(5) files;
/// - `list:PATH` — class files of names (local-host-names, relay-domains);
/// - `inline:{ k=v, … }` — a map in the spec itself (``InlineMap``);
/// - `sequence:{ spec, spec, … }` — the first map that has the key answers (``SequenceMap``);
/// - `dns:-R TYPE …` — DNS queries (``DNSMap``);
/// - `passwd:` — the system's user accounts (``PasswdMap``).
public struct MailMapRegistry: Sendable {
    /// Makes a map from a parsed spec; given the registry, so that composite maps can open theirs.
    public typealias Opener = @Sendable (MailMapSpec, MailMapRegistry) throws(MailMapError) -> any MailMap

    private var openers: [String: Opener] = [:]
    /// Where file maps (and Berkeley DB maps) run their blocking work, and the executor a routing
    /// decision prefers so that its lookups run without a thread switch each
    /// (`WorkerPool.Configuration.mailMaps` unless given another). DNS and LDAP have pools of
    /// their own.
    public var threadPool: WorkerPool
    /// The resolver `dns:` maps use.
    public var resolver: DNSResolver
    /// The options file maps start from before their spec's flags apply.
    public var fileOptions: MailMapOptions

    /// A registry that knows no types; `dns:` maps query `resolver` (one on the
    /// `WorkerPool.dnsLookups` pool when `nil`).
    public init(
        threadPool: WorkerPool = .mailMaps,
        resolver: DNSResolver? = nil,
        fileOptions: MailMapOptions = MailMapOptions()
    ) {
        self.threadPool = threadPool
        self.resolver = resolver ?? DNSResolver()
        self.fileOptions = fileOptions
    }

    /// A registry that knows `text`, `aliases`, `list`, `inline`, `sequence`, `dns` and `passwd`.
    public static var standard: MailMapRegistry {
        var registry = MailMapRegistry()
        registry.registerStandardTypes()
        return registry
    }

    /// Adds `text`, `aliases`, `list`, `inline`, `sequence`, `dns` and `passwd`.
    public mutating func registerStandardTypes() {
        for (type, format) in [("text", MailMapTextParser.Format.table(delimiter: nil)), ("aliases", .aliases), ("list", .list)] {
            register(type) { (spec, registry) throws(MailMapError) -> any MailMap in
                let (path, options) = try registry.fileOperand(of: spec)
                return try TextMap(path: path, format: format, options: options, threadPool: registry.threadPool)
            }
        }
        register("inline") { (spec, registry) throws(MailMapError) -> any MailMap in
            try InlineMap(spec.name, options: registry.fileOptions)
        }
        register("sequence") { (spec, registry) throws(MailMapError) -> any MailMap in
            guard let items = BraceList.items(spec.name, requireBraces: false), !items.isEmpty else {
                throw MailMapError(.badSpec, map: spec.description,
                    message: "\(spec): expected a list of map specs, like sequence:{ hash:/etc/mail/a, text:/etc/mail/b }")
            }
            var maps: [any MailMap] = []
            for item in items { maps.append(try registry.open(item)) }
            return SequenceMap(spec: spec.description, maps: maps)
        }
        register("dns") { (spec, registry) throws(MailMapError) -> any MailMap in
            try DNSMap(spec: spec, resolver: registry.resolver)
        }
        register("passwd") { (spec, registry) throws(MailMapError) -> any MailMap in
            guard spec.name.isEmpty else {
                throw MailMapError(.badSpec, map: spec.description, message: "map spec \"\(spec)\": passwd: takes no name or flags")
            }
            return PasswdMap(threadPool: registry.threadPool)
        }
    }

    /// Makes `type` open with `opener`, replacing what it did before.
    public mutating func register(_ type: String, opener: @escaping Opener) {
        openers[type.lowercased()] = opener
    }

    /// The types this registry opens, sorted.
    public var types: [String] {
        openers.keys.sorted()
    }

    /// Opens the map `spec` names. Opening a file map reads the file, so call this at start-up or
    /// off the event loop (or use ``open(_:)-async``).
    ///
    /// - Throws: ``MailMapError``: `badSpec` for a spec that does not parse or a type not
    ///   registered, and whatever the map's opening throws (a missing file, a corrupt one).
    public func open(_ spec: String) throws(MailMapError) -> any MailMap {
        try open(MailMapSpec(spec))
    }

    /// Opens the map `spec` names.
    public func open(_ spec: MailMapSpec) throws(MailMapError) -> any MailMap {
        guard let opener = openers[spec.type] else {
            throw MailMapError(.badSpec, map: spec.description,
                message: "map spec \"\(spec)\": unknown map type \"\(spec.type)\" (known: \(types.joined(separator: ", ")))")
        }
        return try opener(spec, self)
    }

    /// Opens the map on the worker pool, for callers on an event loop or in async code.
    ///
    /// - Throws: what ``open(_:)-(String)`` throws, or kind `unavailable` when the pool is full or late.
    public func open(_ spec: String) async throws(MailMapError) -> any MailMap {
        let registry = self
        return try await threadPool.run(forMap: spec) { () throws(MailMapError) -> any MailMap in try registry.open(spec) }
    }

    /// Opens the map, or, when it cannot be opened, a ``FailedMailMap`` that fails every lookup
    /// with the reason: a server keeps running with a broken table and reports it at each use.
    public func openOrFailing(_ spec: String) -> any MailMap {
        do {
            return try open(spec)
        } catch {
            return FailedMailMap(spec: spec, error: error)
        }
    }

    /// The file a file map's spec names and its options with the spec's `-o` and `-f` applied.
    ///
    /// Sendmail's `-T<TMPF>` (the text its rules see when a lookup fails for now, as in Debian's
    /// `Kaccess hash -T<TMPF> -o /etc/mail/access`) is accepted and has nothing to do: a lookup
    /// that fails for now is a ``MailMapError`` of kind `unavailable`, which the router answers
    /// with a temporary failure, as Sendmail's rules do for `<TMPF>`.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for other flags, or not exactly one file name.
    public func fileOperand(of spec: MailMapSpec, moreFlags: Set<Character> = []) throws(MailMapError) -> (path: String, options: MailMapOptions) {
        let flags = try MailMapFlags(spec, withArgument: ["T"], withoutArgument: Set(["o", "f"]).union(moreFlags))
        guard flags.operands.count == 1, let path = flags.operands.first else {
            throw MailMapError(.badSpec, map: spec.description,
                message: "map spec \"\(spec)\": expected one file name after the flags (quote a name with spaces)")
        }
        return (path, fileOptions.applying(flags))
    }
}
