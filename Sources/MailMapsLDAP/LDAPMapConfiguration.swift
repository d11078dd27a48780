public import MailMaps

extension LDAPMap {
    /// Where an ``LDAPMap`` searches, for what, and how it connects.
    public struct Configuration: Sendable {
        /// The server URIs (`ldap://127.0.0.1:3890/`), tried in order.
        public var uris: [String]
        /// The search base.
        public var base: String
        /// The scope (RFC 4511 §4.5.1.2).
        public var scope: LDAPConnection.Scope
        /// The filter template (``LDAPFilterTemplate``): `(mailLocalAddress=%0)`.
        public var filter: String
        /// The attributes whose values answer; empty for the entry's DN.
        public var attributes: [String]
        /// How connections bind.
        public var credentials: LDAPCredentials
        /// How long connecting, binding and each search may take.
        public var timeout: Duration
        /// The most entries a search may return; 0 for the server's limit.
        public var sizeLimit: Int
        /// Whether more than one matching entry is "not found" (Sendmail's `-1`).
        public var requiresSingleMatch: Bool
        /// What joins several values; `nil` answers with the first only (Sendmail's `-z`).
        public var delimiter: String?
        /// Whether keys are folded to lower case (ASCII) before they go into the filter.
        public var foldsCase: Bool
        /// How many connections lookups share.
        public var connections: Int
        /// How long an answer is kept (``CachedMailMap``); zero keeps none.
        public var cacheTTL: Duration
        /// How long "not found" is kept.
        public var negativeCacheTTL: Duration

        /// A configuration searching `base` under `uris` with `filter` for `attributes`; anonymous,
        /// 5-second timeout, two connections, answers kept a minute.
        public init(
            uris: [String], base: String, scope: LDAPConnection.Scope = .subtree, filter: String,
            attributes: [String], credentials: LDAPCredentials = .anonymous, timeout: Duration = .seconds(5),
            sizeLimit: Int = 0, requiresSingleMatch: Bool = false, delimiter: String? = nil,
            foldsCase: Bool = true, connections: Int = 2, cacheTTL: Duration = .seconds(60),
            negativeCacheTTL: Duration? = nil
        ) {
            self.uris = uris
            self.base = base
            self.scope = scope
            self.filter = filter
            self.attributes = attributes
            self.credentials = credentials
            self.timeout = timeout
            self.sizeLimit = sizeLimit
            self.requiresSingleMatch = requiresSingleMatch
            self.delimiter = delimiter
            self.foldsCase = foldsCase
            self.connections = connections
            self.cacheTTL = cacheTTL
            self.negativeCacheTTL = negativeCacheTTL ?? cacheTTL
        }

        /// Reads a spec's flags (see ``LDAPMap``); a `-P` password file is read now.
        ///
        /// - Throws: ``MailMapError`` of kind `badSpec` naming the flag that is wrong or missing,
        ///   or `unreadable` naming a password file that cannot be read.
        public init(spec: MailMapSpec) throws(MailMapError) {
            let map = spec.description
            let flags = try MailMapFlags(
                spec,
                withArgument: ["H", "h", "p", "b", "s", "k", "v", "d", "P", "M", "Y", "U", "X", "l", "Z", "z", "c", "T", "w"],
                withoutArgument: ["1", "f", "R"])
            func bad(_ problem: String) -> MailMapError {
                MailMapError(.badSpec, map: map, message: "\(map): \(problem)")
            }
            guard flags.operands.isEmpty else {
                throw bad("unexpected \"\(flags.operands.joined(separator: " "))\" (every setting is a flag: -H uri -b base -k filter -v attributes)")
            }
            var uris: [String]
            if let given = flags.argument("H") {
                uris = given.split(separator: " ").map(String.init)
            } else if let host = flags.argument("h") {
                let port = flags.argument("p").map { ":\($0)" } ?? ""
                uris = host.split(separator: " ").map { "ldap://\($0)\(port)" }
            } else {
                throw bad("no server: give -H ldap://host:port (or -h host -p port)")
            }
            guard !uris.isEmpty else { throw bad("-H names no URI") }
            if let port = flags.argument("p"), Int(port) == nil { throw bad("port \"\(port)\" is not a number") }
            guard let filter = flags.argument("k") else { throw bad("no filter: give -k with %0 for the key, like -k (mailLocalAddress=%0)") }

            let scope: LDAPConnection.Scope
            switch flags.argument("s")?.lowercased() ?? "sub" {
            case "base": scope = .base
            case "one", "onelevel": scope = .oneLevel
            case "sub", "subtree": scope = .subtree
            case let other: throw bad("unknown scope \"\(other)\" (expected base, one or sub)")
            }
            if let version = flags.argument("w"), version != "3" { throw bad("only LDAP version 3 is spoken (-w \(version))") }

            func seconds(_ letter: Character, default value: Duration) throws(MailMapError) -> Duration {
                guard let text = flags.argument(letter) else { return value }
                guard let number = Int(text), number >= 0 else { throw bad("-\(letter) \(text) is not a number of seconds") }
                return .seconds(number)
            }
            let timeout = try seconds("l", default: .seconds(5))
            let cacheTTL = try seconds("c", default: .seconds(60))
            var sizeLimit = 0
            if let text = flags.argument("Z") {
                guard let number = Int(text), number >= 0 else { throw bad("-Z \(text) is not a number of entries") }
                sizeLimit = number
            }

            let password = try flags.argument("P").map { (path) throws(MailMapError) -> LDAPPassword in
                try LDAPPassword(contentsOfFile: path, map: map)
            }
            let method = flags.argument("M")?.uppercased() ?? (flags.argument("Y") != nil ? "LDAP_AUTH_SASL" : flags.argument("d") != nil ? "LDAP_AUTH_SIMPLE" : "LDAP_AUTH_NONE")
            let credentials: LDAPCredentials
            switch method {
            case "LDAP_AUTH_NONE", "NONE":
                credentials = .anonymous
            case "LDAP_AUTH_SIMPLE", "SIMPLE":
                guard let dn = flags.argument("d") else { throw bad("a simple bind needs the DN to bind as (-d)") }
                guard let password else { throw bad("a simple bind needs the file holding its password (-P)") }
                credentials = .simple(dn: dn, password: password)
            case "LDAP_AUTH_SASL", "SASL":
                guard let mechanism = flags.argument("Y") else { throw bad("a SASL bind needs its mechanism (-Y EXTERNAL)") }
                credentials = .sasl(mechanism: mechanism.uppercased(), authenticationID: flags.argument("U"),
                                    authorizationID: flags.argument("X"), password: password)
            default:
                throw bad("unknown bind method \"\(method)\" (expected LDAP_AUTH_NONE, LDAP_AUTH_SIMPLE or LDAP_AUTH_SASL)")
            }

            self.init(
                uris: uris, base: flags.argument("b") ?? "", scope: scope, filter: filter,
                attributes: flags.argument("v").map { $0.split(separator: ",").map { $0.trimmingWhitespace() } } ?? [],
                credentials: credentials, timeout: timeout, sizeLimit: sizeLimit,
                requiresSingleMatch: flags.contains("1"), delimiter: flags.argument("z"),
                foldsCase: !flags.contains("f"), cacheTTL: cacheTTL)
        }
    }
}
