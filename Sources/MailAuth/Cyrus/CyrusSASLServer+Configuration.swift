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
    public struct Configuration: Sendable {
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
        /// Any further libsasl2 option (`auxprop_plugin`, `log_level`, …), set verbatim; these win
        /// over the fields above.
        public var options: [String: String]

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
            self.options = options
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

        /// The option table the GETOPT callback answers from.
        var resolvedOptions: [String: String] {
            var resolved: [String: String] = [:]
            resolved["pwcheck_method"] = passwordCheck.map(\.rawValue).joined(separator: " ")
            if let sasldbPath { resolved["sasldb_path"] = sasldbPath }
            if let saslauthdPath { resolved["saslauthd_path"] = saslauthdPath }
            if let mechanisms { resolved["mech_list"] = mechanisms.map(\.rawValue).joined(separator: " ") }
            if passwordCheck.contains(.auxprop), resolved["auxprop_plugin"] == nil { resolved["auxprop_plugin"] = "sasldb" }
            for (key, value) in options { resolved[key] = value }
            return resolved
        }
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
