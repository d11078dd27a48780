import MailSystem

extension CyrusSASLServer {
    /// How libsasl2 checks passwords (its `pwcheck_method` option).
    public struct PasswordCheckMethod: Hashable, Sendable, CustomStringConvertible {
        /// The option's value.
        public let rawValue: String

        /// A method by its libsasl2 name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// `auxprop`: the auxiliary property plugins, normally sasldb2 (`saslpasswd2`'s database).
        public static let auxprop = PasswordCheckMethod(rawValue: "auxprop")
        /// `saslauthd`: the saslauthd daemon, which asks PAM, shadow, LDAP, … PLAIN and LOGIN only.
        public static let saslauthd = PasswordCheckMethod(rawValue: "saslauthd")

        public var description: String { rawValue }
    }

    /// The libsasl2 options a server answers through its GETOPT callback — the same keys as a
    /// Sendmail set-up's `/etc/sasl2/Sendmail.conf` — so that nothing of the system-wide libsasl2
    /// configuration (`/etc/sasldb2`, `/etc/sasl2/*.conf`) is read unless named here.
    ///
    /// Every option libsasl2 or a plugin asks for is answered, with these defaults:
    ///
    /// | option | answer |
    /// |---|---|
    /// | `pwcheck_method` | ``passwordCheck``: `auxprop` |
    /// | `auxprop_plugin` | `sasldb` when ``sasldbPath`` is set; otherwise none (an empty list: no auxiliary property store is consulted) |
    /// | `sasldb_path` | ``sasldbPath``; otherwise a path that cannot exist, never `/etc/sasldb2` |
    /// | `saslauthd_path` | ``saslauthdPath``; otherwise libsasl2's compiled-in socket (`/var/run/saslauthd/mux` on Debian) |
    /// | `mech_list` | ``mechanisms``; otherwise every installed plugin |
    /// | `auto_transition` | `no`: libsasl2 never writes to a password store |
    /// | anything else (`log_level`, `canon_user_plugin`, `scram_iteration_counter`, `sql_*`, …) | ``options``; otherwise not set: the plugin's built-in default |
    ///
    /// ``options`` win over every row. A description, debug description or `dump()` of a
    /// configuration shows the option names, never their values (`sql_passwd` is a password).
    public struct Configuration: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// The service name given to the mechanisms, `smtp` (DIGEST-MD5's `digest-uri`).
        public var service: String
        /// The server's fully qualified name (DIGEST-MD5's realm and `digest-uri` host; the
        /// default realm of user names).
        public var serverName: String
        /// The realm user names belong to (`saslpasswd2 -u`); the server's name when `nil`.
        public var userRealm: String?
        /// `sasldb_path`: the sasldb2 file. Required for ``PasswordCheckMethod/auxprop``, checked
        /// when the server is made, and never defaulted to `/etc/sasldb2`.
        public var sasldbPath: String?
        /// `pwcheck_method`.
        public var passwordCheck: [PasswordCheckMethod]
        /// `saslauthd_path`: the saslauthd socket (`/run/saslauthd/mux` on Debian) when checking
        /// through saslauthd.
        public var saslauthdPath: String?
        /// `mech_list`: the mechanisms libsasl2 may run; `nil` for every plugin installed.
        public var mechanisms: [SASLMechanismName]?
        /// Any further libsasl2 option (`auxprop_plugin`, `log_level`, `sql_passwd`, …), set
        /// verbatim; these win over the fields above. Never shown by a description or mirror.
        public var options: [String: String] {
            get { redactedOptions.values }
            set { redactedOptions = RedactedOptions(values: newValue) }
        }
        /// Where ``options`` are kept: a value whose description and mirror name the options only.
        private var redactedOptions: RedactedOptions

        /// A configuration; sasldb2 at `sasldbPath` with `auxprop` by default.
        public init(
            service: String = "smtp", serverName: String, userRealm: String? = nil, sasldbPath: String? = nil,
            passwordCheck: [PasswordCheckMethod] = [.auxprop], saslauthdPath: String? = nil,
            mechanisms: [SASLMechanismName]? = nil, options: [String: String] = [:]
        ) {
            self.service = service
            self.serverName = serverName
            self.userRealm = userRealm
            self.sasldbPath = sasldbPath
            self.passwordCheck = passwordCheck
            self.saslauthdPath = saslauthdPath
            self.mechanisms = mechanisms
            self.redactedOptions = RedactedOptions(values: options)
        }

        /// Reads a libsasl2 application file (`/etc/sasl2/Sendmail.conf`: `key: value` lines, `#`
        /// comments) into ``options``, so an existing set-up's `pwcheck_method`, `mech_list`,
        /// `sasldb_path` apply unchanged. A blocking read: call it at start-up.
        ///
        /// - Throws: ``SASLError/Kind/configuration`` naming the file and line.
        public mutating func load(applicationFile path: String) throws(SASLError) {
            let text: String
            do {
                text = try BoundedFile.readText(path, limit: 1 << 20)
            } catch {
                throw SASLError(unreadable: error)
            }
            var lineNumber = 0
            for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                let line = String(rawLine).trimmingCharacters()
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let colon = line.firstIndex(of: ":") else {
                    throw SASLError(.configuration, "\(path):\(lineNumber): expected `option: value`")
                }
                let key = String(line[..<colon]).trimmingCharacters()
                let value = String(line[line.index(after: colon)...]).trimmingCharacters()
                guard !key.isEmpty else { throw SASLError(.configuration, "\(path):\(lineNumber): the option name is empty") }
                options[key] = value
            }
        }

        /// A path that names no file on any system (a directory below `/dev/null`): the answer for
        /// `sasldb_path` when none is configured, so that a plugin asking anyway finds nothing
        /// rather than `/etc/sasldb2`.
        static let noSasldbPath = "/dev/null/swiftmta-no-sasldb"

        /// The option table the GETOPT callback answers from (the defaults above, then ``options``).
        var resolvedOptions: [String: String] {
            var resolved: [String: String] = [:]
            resolved["pwcheck_method"] = passwordCheck.map(\.rawValue).joined(separator: " ")
            resolved["auxprop_plugin"] = sasldbPath == nil ? "" : "sasldb"
            resolved["sasldb_path"] = sasldbPath ?? Self.noSasldbPath
            if let saslauthdPath { resolved["saslauthd_path"] = saslauthdPath }
            if let mechanisms { resolved["mech_list"] = mechanisms.map(\.rawValue).joined(separator: " ") }
            resolved["auto_transition"] = "no"
            for (key, value) in options { resolved[key] = value }
            return resolved
        }

        /// The service, server name, realm, password check, files and mechanisms; option names only.
        public var description: String {
            var parts = ["service=\(service)", "server=\(serverName)"]
            if let userRealm { parts.append("realm=\(userRealm)") }
            parts.append("pwcheck_method=\(passwordCheck.map(\.rawValue).joined(separator: " "))")
            if let sasldbPath { parts.append("sasldb_path=\(sasldbPath)") }
            if let saslauthdPath { parts.append("saslauthd_path=\(saslauthdPath)") }
            if let mechanisms { parts.append("mech_list=\(mechanisms.map(\.rawValue).joined(separator: " "))") }
            parts.append(contentsOf: options.keys.sorted().map { "\($0)=<redacted>" })
            return "CyrusSASLServer.Configuration(" + parts.joined(separator: ", ") + ")"
        }

        /// The same as ``description``: option values never appear.
        public var debugDescription: String { description }

        /// The fields, with ``options`` as their names only.
        public var customMirror: Mirror {
            Mirror(self, children: [
                "service": service, "serverName": serverName, "userRealm": userRealm as Any,
                "sasldbPath": sasldbPath as Any, "passwordCheck": passwordCheck, "saslauthdPath": saslauthdPath as Any,
                "mechanisms": mechanisms as Any, "options": redactedOptions,
            ])
        }
    }

    /// libsasl2 options whose values never appear in a description or mirror.
    struct RedactedOptions: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        var values: [String: String]

        var description: String {
            "[" + values.keys.sorted().map { "\($0): <redacted>" }.joined(separator: ", ") + "]"
        }

        var debugDescription: String { description }
        var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .dictionary) }
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
