#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Definitions, maps, routing and relay policy.
extension SendmailMCImporter {
    /// The names other parts of the import translate (each reports its own lines).
    static let translatedNames: Set<String> = [
        "SMART_HOST", "RELAY_MAILER", "RELAY_MAILER_ARGS", "confDOMAIN_NAME", "MAIL_HUB", "LOCAL_RELAY", "LUSER_RELAY",
        "SMTP_MAILER_ARGS", "ESMTP_MAILER_ARGS", "SMTP8_MAILER_ARGS", "DSMTP_MAILER_ARGS",
        "confCW_FILE", "confCR_FILE", "ALIAS_FILE", "MAIL_SETTINGS_DIR",
        "confAUTH_MECHANISMS", "confAUTH_OPTIONS", "confAUTH_REALM",
        "confCACERT_PATH", "confCACERT", "confSERVER_CERT", "confSERVER_KEY", "confCLIENT_CERT", "confCLIENT_KEY",
        "confDH_PARAMETERS", "confTLS_SRV_OPTIONS",
        "confPRIVACY_FLAGS", "confSMTP_LOGIN_MSG", "HELP_FILE", "confMAX_MESSAGE_SIZE", "confMAX_RCPTS_PER_MESSAGE",
        "confTO_COMMAND", "confMAX_DAEMON_CHILDREN", "QUEUE_DIR",
        "confTO_QUEUEWARN", "confTO_QUEUERETURN", "confMIN_QUEUE_AGE", "confMAX_QUEUE_AGE",
        "confDELIVERY_MODE", "confMCI_CACHE_TIMEOUT", "confMCI_CACHE_SIZE", "LOCAL_MAILER_PATH", "LOCAL_MAILER_ARGS",
    ]

    /// Sendmail's own files, processes and build: nothing for SwiftMTA to carry over.
    static let sendmailOwnNames: [String: String] = [
        "confDONT_BLAME_SENDMAIL": "relaxes Sendmail's checks of file and folder permissions; SwiftMTA has no such checks to relax",
        "confPID_FILE": "Sendmail's process ID file",
        "STATUS_FILE": "Sendmail's statistics file",
        "confHOST_STATUS_DIRECTORY": "Sendmail's per-host status folder",
        "confCONTROL_SOCKET_NAME": "Sendmail's control socket",
        "confPROCESS_TITLE_PREFIX": "Sendmail's process titles",
        "confSAFE_FILE_ENV": "Sendmail's chroot for writing files",
        "confSAFE_QUEUE": "SwiftMTA always has a message on disk and flushed before it answers 250",
        "confQUEUE_FILE_MODE": "Sendmail's queue file permissions",
        "confTEMP_FILE_MODE": "Sendmail's temporary file permissions",
        "confTRUSTED_USER": "Sendmail's trusted user",
        "confRUN_AS_USER": "the user Sendmail runs as",
        "confDEF_USER_ID": "Sendmail's default user for deliveries",
        "confEBINDIR": "where Sendmail's programs are",
        "confMAX_RUNNERS_PER_QUEUE": "Sendmail's queue runner processes",
        "confCT_FILE": "Sendmail's trusted users file",
        "confLOG_LEVEL": "SwiftMTA's log level is swiftmta serve --log-level",
        "confTO_IDENT": "SwiftMTA makes no ident (RFC 1413) queries",
        "confTO_STARTTLS": "SwiftMTA's TLS handshake time-out is its own",
        "confTO_AUTH": "SwiftMTA's AUTH time-out is its own command time-out",
        "confCF_VERSION": "the version string of sendmail.cf",
        "DEBIAN_MTA": "Debian's mark of an MTA configuration",
        "_USE_ETC_MAIL_": "Debian's mark of the /etc/mail layout",
    ]

    // MARK: - Definitions

    mutating func translateDefinitions() throws(MCMacroProcessor.Failure) {
        for name in definitionOrder {
            let locations = definitions[name] ?? []
            let bodies = definitionBodies[name] ?? []
            for (index, earlier) in locations.dropLast().enumerated() {
                let body = index < bodies.count ? bodies[index] : ""
                let shown = body.count > 72 ? String(body.prefix(69)) + "..." : body
                report.add(.notNeeded, earlier, "define(`\(name)', `\(shown.replacingOccurrences("\n", " "))')",
                    "redefined at \(locations.last!): only that one counts")
            }
            guard let last = locations.last, !Self.translatedNames.contains(name) else { continue }
            let subject = defineSubject(name)
            guard processor.isDefined(name) else { continue }
            if let why = Self.sendmailOwnNames[name] {
                report.add(.notNeeded, last, subject, why)
            } else if name.hasPrefix("_") || name.hasPrefix("sm_") || name.hasPrefix("SM_") {
                report.add(.notNeeded, last, subject, "a setting of Sendmail's cf library or Debian's files for themselves")
            } else if name.hasPrefix("conf") {
                if !knownOptions.isEmpty, !knownOptions.contains(name) {
                    report.add(.notNeeded, last, subject, "not an option of Sendmail's cf library (a typo?): Sendmail ignores it too")
                } else if name.hasPrefix("confTO_") {
                    report.add(.notCarriedOver, last, subject,
                        "the time-out \(name.dropFirst(7).lowercased()) (`\(try value(name) ?? "")'): SwiftMTA's own time-outs apply (RFC 5321 §4.5.3.2; the command time-out is smtp.command_timeout)")
                } else {
                    report.add(.notCarriedOver, last, subject, "the Sendmail option \(name) (`\(try value(name) ?? "")'): SwiftMTA has no equivalent; its own default applies")
                }
            } else if name.contains("_MAILER_") || name.hasSuffix("_MAILER") {
                report.add(.notCarriedOver, last, subject, "a setting of a Sendmail mailer: SwiftMTA's mailers have their own")
            } else {
                report.add(.notNeeded, last, subject, "not a setting of Sendmail's cf library: m4 put its value where the .mc used it")
            }
        }
    }

    /// Reports the definition of `name` as carried over to `key`, when the .mc defined it.
    mutating func carried(_ name: String, to key: String) {
        if let location = definedAt(name) {
            report.add(.carriedOver, location, defineSubject(name), "→ \(key)")
        }
    }

    /// Reports the definition of `name` (when the .mc defined it) in `section`.
    mutating func note(_ name: String, _ section: ImportReport.Section, _ message: String) {
        if let location = definedAt(name) {
            report.add(section, location, defineSubject(name), message)
        }
    }

    // MARK: - Maps

    /// The parts of a Sendmail map definition (`hash -T<TMPF> -o /etc/mail/access`): its class,
    /// its flags, its file.
    struct SendmailMap {
        var mapClass: String
        var flags: [String]
        var file: String?

        init(_ text: String, defaultClass: String = "hash") {
            var words = text.mcWords()
            let classes: Set<String> = ["hash", "btree", "dbm", "text", "ldap", "sequence", "nis", "nisplus", "hesiod",
                                        "netinfo", "program", "regex", "socket", "switch", "user", "host", "bestmx",
                                        "dns", "implicit", "stab", "null", "syslog", "macro", "arith", "dequote", "LDAP"]
            if let first = words.first, classes.contains(first) {
                mapClass = first == "LDAP" ? "ldap" : first
                words.removeFirst()
            } else {
                mapClass = defaultClass
            }
            flags = words.filter { $0.hasPrefix("-") }
            file = words.last { !$0.hasPrefix("-") }
        }
    }

    /// The SwiftMTA spec for a Sendmail map of `feature` (`hash -o /etc/mail/virtusertable`),
    /// found where the .mc names it (or under `--maps`), with what changed reported.
    mutating func mapSpec(_ text: String, for call: MCMacroCall, key: String) -> String? {
        let map = SendmailMap(text)
        let shown = call.description
        guard ["hash", "btree", "text"].contains(map.mapClass) else {
            let why = switch map.mapClass {
            case "ldap": "an LDAP map in Sendmail's default sendmailMTA schema: give it as an ldap: spec (ldap:-H URI -b BASE -k FILTER -v ATTRIBUTE) by hand"
            case "dbm": "a dbm (ndbm) map: SwiftMTA reads Berkeley DB; rebuild it with makemap hash"
            case "sequence": "a sequence of other K maps by name: give it as sequence:{ spec, spec }"
            default: "a \(map.mapClass) map: SwiftMTA reads text, hash and btree maps (and ldap:, dns:)"
            }
            report.add(.notCarriedOver, call.location, shown, why)
            return nil
        }
        guard var file = map.file else {
            report.add(.notCarriedOver, call.location, shown, "no file named in `\(text)'")
            return nil
        }
        var flags: [String] = []
        var dropped: [String] = []
        for flag in map.flags {
            switch flag {
            case "-o", "-f":
                flags.append(flag)
            case "-N", "-O":
                if map.mapClass != "text" { flags.append(flag) }
            case _ where flag.hasPrefix("-T"):
                report.add(.carriedOver, call.location, shown,
                    "\(flag) left out: a lookup that fails is always a temporary failure (451 4.3.0) in SwiftMTA, as \(flag) makes it in Sendmail (SwiftMTA's file maps take the flag as a no-op)")
            case "-m":
                dropped.append(flag)
                report.add(.differs, call.location, shown, "-m (match only) left out: SwiftMTA uses the value, where Sendmail used only that the key exists")
            default:
                dropped.append(flag)
            }
        }
        if !dropped.filter({ $0 != "-m" }).isEmpty {
            report.add(.notCarriedOver, call.location, shown,
                "the flags \(dropped.filter { $0 != "-m" }.joined(separator: " ")) are not taken by SwiftMTA's file maps (values are used as written)")
        }
        let optional = flags.contains("-o")
        let flagText = flags.isEmpty ? "" : flags.joined(separator: " ") + " "
        if map.mapClass == "text" {
            let found = pointed(file)
            report.add(.carriedOver, call.location, shown, "→ \(key) = text:\(flagText)\(found)")
            if !Self.exists(found), !optional {
                report.add(.notCarriedOver, call.location, shown, "\(found) is not there: check-config reports it until it is")
            }
            return "text:\(flagText)\(found)"
        }
        if file.hasSuffix(".db") { file = String(file.dropLast(3)) }
        if let database = located(file, suffix: ".db") {
            report.add(.carriedOver, call.location, shown, "→ \(key) = \(map.mapClass):\(flagText)\(database) (the same \(database).db Sendmail reads)")
            return "\(map.mapClass):\(flagText)\(database)"
        }
        if let source = located(file) {
            let textFlags = flags.filter { $0 == "-o" || $0 == "-f" }
            let spec = "text:" + (textFlags.isEmpty ? "" : textFlags.joined(separator: " ") + " ") + source
            report.add(.carriedOver, call.location, shown, "→ \(key) = \(spec)")
            report.add(.differs, call.location, shown,
                "\(source).db is not there, so SwiftMTA reads the text \(source) itself, where Sendmail reads only the .db that makemap builds from it (and \(optional ? "with -o finds an empty map" : "fails every lookup") without it): changes to the text take effect at once")
            return spec
        }
        let path = pointed(file)
        report.add(.carriedOver, call.location, shown, "→ \(key) = \(map.mapClass):\(flagText)\(path)")
        if optional {
            report.add(.notNeeded, call.location, shown, "neither \(path).db nor \(path) is there; -o makes the map optional, so it is empty, as in Sendmail")
        } else {
            report.add(.notCarriedOver, call.location, shown,
                "neither \(path).db nor \(path) is there: Sendmail fails every lookup in it, and check-config reports it until it is made (makemap \(map.mapClass) \(path) < \(path))")
        }
        return "\(map.mapClass):\(flagText)\(path)"
    }

    mutating func translateTables() throws(MCMacroProcessor.Failure) {
        let defaults: [(feature: String, key: String, file: String, extra: String)] = [
            ("virtusertable", "virtusertable", "virtusertable", ""),
            ("mailertable", "mailertable", "mailertable", ""),
            ("authinfo", "authinfo", "authinfo", ""),
            ("access_db", "access", "access", "-T<TMPF> "),
        ]
        let settings = settingsDirectory
        for item in defaults {
            guard let call = features[item.feature] else { continue }
            let given = call.argument(1)
            let text = given.isEmpty ? "hash \(item.extra)\(settings)\(item.file)" : given
            if let spec = mapSpec(text, for: call, key: "maps.\(item.key)") {
                config.set("maps", item.key, .string(spec), comment: Self.origin(call.location, call.description))
                if item.feature == "authinfo", let path = PermissionCheck.filePath(of: spec), Self.readableByEveryone(path) {
                    report.add(.warning, call.location, call.description,
                        "\(path) holds smart-host passwords and is readable by every user on this host; Sendmail reads it so, SwiftMTA refuses to start with it: chmod 0600 \(path) (or 0640 with the server's group)")
                }
            }
            if item.feature == "access_db" {
                for option in call.arguments.dropFirst(2).map({ $0.mcTrimmed.lowercased() }) where !option.isEmpty {
                    switch option {
                    case "skip":
                        report.add(.carriedOver, call.location, call.description, "skip: SwiftMTA's access map takes SKIP values")
                    default:
                        report.add(.notCarriedOver, call.location, call.description, "the access_db option \(option): SwiftMTA has no equivalent")
                    }
                }
            }
        }
        if let call = features["blacklist_recipients"] ?? features["blocklist_recipients"], features["access_db"] == nil {
            report.add(.notNeeded, call.location, call.description, "without FEATURE(`access_db') there are no To: entries to refuse recipients with")
        }

        // Class w: the local host names.
        if let call = features["use_cw_file"] {
            let words = (try value("confCW_FILE") ?? "\(settings)local-host-names").mcWords()
            carried("confCW_FILE", to: "local_host_names")
            if let path = words.last(where: { !$0.hasPrefix("-") }), !path.hasPrefix("|") {
                let found = pointed(path)
                config.set("", "local_host_names", .string("list:\(found)"), comment: Self.origin(call.location, call.description))
                report.add(.carriedOver, call.location, call.description, "→ local_host_names = list:\(found)")
                if !Self.exists(found) {
                    report.add(words.contains("-o") ? .notNeeded : .notCarriedOver, call.location, call.description,
                        words.contains("-o") ? "\(found) is not there; -o makes it optional" : "\(found) is not there: Sendmail refuses to start without it, and check-config reports it until it is made")
                }
            } else {
                report.add(.notCarriedOver, call.location, call.description, "a class w read from a program: SwiftMTA reads files")
            }
        } else if definedAt("confCW_FILE") != nil {
            note("confCW_FILE", .notNeeded, "without FEATURE(`use_cw_file') Sendmail does not read it")
        }

        // Class R: relay domains.
        var relaySources: [String] = []
        let crWords = (try value("confCR_FILE") ?? "").mcWords()
        if let path = crWords.last(where: { !$0.hasPrefix("-") }) {
            if let found = located(path) {
                relaySources.append("list:\(found)")
                report.add(.carriedOver, definedAt("confCR_FILE"), definedAt("confCR_FILE") == nil ? "class R" : "define(`confCR_FILE')",
                    "→ relay_domains: \(found) (the relay-domains file Sendmail reads)")
            } else if crWords.contains("-o") {
                note("confCR_FILE", .notNeeded, "\(pointed(path)) is not there; -o makes it optional, as in Sendmail")
            } else {
                relaySources.append("list:\(pointed(path))")
                note("confCR_FILE", .notCarriedOver, "\(pointed(path)) is not there: Sendmail refuses to start without it")
            }
        }
        for (text, location) in relayDomainFiles {
            let words = text.mcWords()
            guard let path = words.last(where: { !$0.hasPrefix("-") }) else { continue }
            if let found = located(path) {
                relaySources.append("list:\(found)")
                report.add(.carriedOver, location, "RELAY_DOMAIN_FILE(`\(text)')", "→ relay_domains: \(found)")
            } else if words.contains("-o") {
                report.add(.notNeeded, location, "RELAY_DOMAIN_FILE(`\(text)')", "\(pointed(path)) is not there; -o makes it optional")
            } else {
                relaySources.append("list:\(pointed(path))")
                report.add(.notCarriedOver, location, "RELAY_DOMAIN_FILE(`\(text)')", "\(pointed(path)) is not there: Sendmail refuses to start without it")
            }
        }
        if !relayDomainNames.isEmpty {
            let names = Self.unique(relayDomainNames.map(\.0))
            relaySources.append("inline:{ " + names.map { "\($0)=\($0)" }.joined(separator: ", ") + " }")
            for location in Set(relayDomainNames.map(\.1)).sorted() {
                report.add(.carriedOver, location, shown(location, "RELAY_DOMAIN"), "→ relay_domains (inline)")
            }
        }
        if relaySources.count == 1 {
            config.set("", "relay_domains", .string(relaySources[0]), comment: ["class R: the domains this host relays for"])
        } else if relaySources.count > 1 {
            config.set("", "relay_domains", .string("sequence:{ " + relaySources.map { "{ \($0) }" }.joined(separator: ", ") + " }"),
                comment: ["class R: the domains this host relays for"])
        }

        // Local users and aliases.
        config.set("", "local_users", .string("passwd"), comment: ["the local mailer delivers to the system's users, as Sendmail's does"])
        try translateAliases()
    }

    private mutating func translateAliases() throws(MCMacroProcessor.Failure) {
        let location = definedAt("ALIAS_FILE")
        let subject = location == nil ? "ALIAS_FILE" : defineSubject("ALIAS_FILE")
        let entries = (try value("ALIAS_FILE") ?? "").split(separator: ",").map { $0.mcTrimmed }.filter { !$0.isEmpty }
        var chosen: String?
        for entry in entries {
            var path = entry
            var type = "file"
            if let colon = entry.firstIndex(of: ":"), !entry.hasPrefix("/") {
                type = String(entry[..<colon])
                path = String(entry[entry.index(after: colon)...])
            }
            guard ["file", "hash", "btree"].contains(type) else {
                report.add(.notCarriedOver, location, subject, "the aliases source \(entry): SwiftMTA reads aliases files")
                continue
            }
            guard chosen == nil else {
                report.add(.notCarriedOver, location, subject, "a second aliases file \(entry): SwiftMTA reads one")
                continue
            }
            if let text = located(path) {
                chosen = "aliases:\(text)"
                report.add(.carriedOver, location, subject, "→ maps.aliases = aliases:\(text)")
                report.add(.differs, location, subject,
                    "SwiftMTA reads the aliases text itself, where Sendmail reads the \(text).db that newaliases builds: a change takes effect without newaliases")
            } else if let database = located(path, suffix: ".db") {
                chosen = "hash:\(database)"
                report.add(.carriedOver, location, subject, "→ maps.aliases = hash:\(database) (the \(database).db newaliases built)")
            } else {
                report.add(location == nil ? .notNeeded : .notCarriedOver, location, subject,
                    "\(pointed(path)) is not there: no aliases, as in Sendmail without it")
            }
        }
        if let chosen {
            config.set("maps", "aliases", .string(chosen), comment: Self.origin(location, location == nil ? "ALIAS_FILE (Sendmail's default)" : "ALIAS_FILE"))
        }
    }

    /// Whether every user may read `path` (mode o+r).
    static func readableByEveryone(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & 0o004 != 0
    }

        static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0.lowercased()).inserted }
    }

    // MARK: - Routing

    mutating func translateRouting() throws(MCMacroProcessor.Failure) {
        if let given = options.hostname {
            config.set("", "hostname", .string(given), comment: ["$j: given with --hostname"])
            note("confDOMAIN_NAME", .notNeeded, "--hostname \(given) was given instead")
        } else if let name = try value("confDOMAIN_NAME"), definedAt("confDOMAIN_NAME") != nil {
            if name.contains("$") {
                note("confDOMAIN_NAME", .notCarriedOver, "`\(name)' is built from Sendmail macros; give the host name with --hostname")
            } else if let problem = HostNameRule.problem(with: name) {
                note("confDOMAIN_NAME", .notCarriedOver, "`\(name)': \(problem)")
            } else {
                config.set("", "hostname", .string(name), comment: Self.origin(definedAt("confDOMAIN_NAME"), "confDOMAIN_NAME ($j)"))
                carried("confDOMAIN_NAME", to: "hostname")
            }
        }
        if !localNames.isEmpty {
            config.set("", "local_names", .strings(Self.unique(localNames.map(\.0))), comment: ["LOCAL_DOMAIN: more names of this host (class w)"])
            for location in Set(localNames.map(\.1)).sorted() { report.add(.carriedOver, location, shown(location, "LOCAL_DOMAIN"), "→ local_names") }
        }
        if !virtuserDomains.isEmpty {
            config.set("", "virtuser_domains", .strings(Self.unique(virtuserDomains.map(\.0))), comment: ["VIRTUSER_DOMAIN: domains whose users are in the virtusertable only"])
            for location in Set(virtuserDomains.map(\.1)).sorted() {
                report.add(.carriedOver, location, shown(location, "VIRTUSER_DOMAIN"), "→ virtuser_domains")
            }
            if features["virtusertable"] == nil {
                report.add(.notNeeded, virtuserDomains[0].1, "VIRTUSER_DOMAIN", "without FEATURE(`virtusertable') Sendmail does not use it")
            }
        }

        if let smartHost = try value("SMART_HOST"), definedAt("SMART_HOST") != nil, !smartHost.isEmpty {
            let host = smartHost.mcWords().joined()
            config.set("routing", "smart_host", .string(host), comment: Self.origin(definedAt("SMART_HOST"), "SMART_HOST"))
            carried("SMART_HOST", to: "routing.smart_host")
        }
        if let mailer = try value("RELAY_MAILER"), definedAt("RELAY_MAILER") != nil {
            if ["esmtp", "smtp", "smtp8", "dsmtp", "relay"].contains(mailer) {
                config.set("routing", "relay_mailer", .string(mailer == "relay" ? "esmtp" : mailer), comment: Self.origin(definedAt("RELAY_MAILER"), "RELAY_MAILER"))
                carried("RELAY_MAILER", to: "routing.relay_mailer")
            } else {
                note("RELAY_MAILER", .notCarriedOver, "the relay mailer \(mailer): SwiftMTA's relay speaks esmtp, smtp, smtp8 or dsmtp")
            }
        }
        if let arguments = try value("RELAY_MAILER_ARGS"), definedAt("RELAY_MAILER_ARGS") != nil {
            let words = arguments.mcWords()
            if words.count >= 2, ["TCP", "IPC"].contains(words[0]), words[1] == "$h", words.count <= 3 {
                if words.count == 3, let port = Int(words[2]), (1...65535).contains(port) {
                    config.set("routing", "relay_mailer_port", .integer(port), comment: Self.origin(definedAt("RELAY_MAILER_ARGS"), "RELAY_MAILER_ARGS `\(arguments)'"))
                    carried("RELAY_MAILER_ARGS", to: "routing.relay_mailer_port = \(port)")
                } else if words.count == 2 {
                    note("RELAY_MAILER_ARGS", .notNeeded, "port 25, SwiftMTA's default")
                } else {
                    note("RELAY_MAILER_ARGS", .notCarriedOver, "`\(arguments)': the port \(words[2]) is not a number from 1 to 65535")
                }
            } else {
                note("RELAY_MAILER_ARGS", .notCarriedOver, "`\(arguments)': SwiftMTA's relay mailer connects by TCP to the host ($h) and a port; it runs no program")
            }
        }
        for name in ["SMTP_MAILER_ARGS", "ESMTP_MAILER_ARGS", "SMTP8_MAILER_ARGS", "DSMTP_MAILER_ARGS"] where definedAt(name) != nil {
            let words = (try value(name) ?? "").mcWords()
            if words.count == 2, ["TCP", "IPC"].contains(words[0]), words[1] == "$h" {
                note(name, .notNeeded, "port 25, as SwiftMTA's mailers use")
            } else {
                note(name, .notCarriedOver, "`\(words.joined(separator: " "))': SwiftMTA's \(name.split(separator: "_")[0].lowercased()) mailer connects to port 25 (only the relay mailer's port can be set)")
            }
        }
        for name in ["MAIL_HUB", "LOCAL_RELAY", "LUSER_RELAY"] where definedAt(name) != nil {
            let target = try value(name) ?? ""
            note(name, .notCarriedOver, "SwiftMTA has no \(name): local mail that Sendmail sent to \(target) is delivered on this host (or refused as an unknown user)")
        }
        for call in localUserCalls {
            if definedAt("MAIL_HUB") != nil || definedAt("LUSER_RELAY") != nil || definedAt("LOCAL_RELAY") != nil {
                report.add(.notCarriedOver, call.location, call.description, "class L matters only with MAIL_HUB, LOCAL_RELAY or LUSER_RELAY, which are not carried over")
            } else {
                report.add(.notNeeded, call.location, call.description, "class L matters only with MAIL_HUB, LOCAL_RELAY or LUSER_RELAY, which the .mc does not set")
            }
        }

        if let call = masqueradeAs {
            config.set("routing", "masquerade_as", .string(call.argument(0)), comment: Self.origin(call.location, call.description))
            report.add(.carriedOver, call.location, call.description, "→ routing.masquerade_as")
        }
        if let call = features["masquerade_envelope"] {
            config.set("routing", "masquerade_envelope", .boolean(true), comment: Self.origin(call.location, call.description))
            report.add(.carriedOver, call.location, call.description, "→ routing.masquerade_envelope = true")
            if masqueradeAs == nil {
                report.add(.notNeeded, call.location, call.description, "without MASQUERADE_AS there is nothing to masquerade as")
            }
        }
        if !masqueradeDomains.isEmpty {
            config.set("routing", "masquerade_domains", .strings(Self.unique(masqueradeDomains.map(\.0))), comment: ["MASQUERADE_DOMAIN"])
            for location in Set(masqueradeDomains.map(\.1)).sorted() {
                report.add(.carriedOver, location, shown(location, "MASQUERADE_DOMAIN"), "→ routing.masquerade_domains")
            }
        }
        if !exposedUsers.isEmpty {
            config.set("routing", "exposed_users", .strings(Self.unique(exposedUsers.map(\.0))), comment: ["EXPOSED_USER"])
            for location in Set(exposedUsers.map(\.1)).sorted() {
                report.add(.carriedOver, location, shown(location, "EXPOSED_USER"), "→ routing.exposed_users")
            }
        }
    }

    // MARK: - Relay policy

    mutating func translateRelay() {
        for (feature, key) in [("relay_based_on_MX", "relay_based_on_mx"), ("accept_unresolvable_domains", "accept_unresolvable_domains"),
                               ("accept_unqualified_senders", "accept_unqualified_senders")] {
            guard let call = features[feature] else { continue }
            config.set("relay", key, .boolean(true), comment: Self.origin(call.location, call.description))
            report.add(.carriedOver, call.location, call.description, "→ relay.\(key) = true")
        }
        if let call = features["blocklist_recipients"] ?? features["blacklist_recipients"] {
            config.set("relay", "blacklist_recipients", .boolean(true), comment: Self.origin(call.location, call.description))
            report.add(.carriedOver, call.location, call.description, "→ relay.blacklist_recipients = true")
        }
        if let call = features["delay_checks"] {
            config.set("relay", "delay_checks", .boolean(true), comment: Self.origin(call.location, call.description))
            report.add(.carriedOver, call.location, call.description, "→ relay.delay_checks = true")
            if !call.argument(1).isEmpty {
                report.add(.notCarriedOver, call.location, call.description,
                    "`\(call.argument(1))': SwiftMTA has no spam friends or haters (Spam: access entries); the checks are delayed for everyone")
            }
        }
        for call in dnsblCalls {
            let zone = call.argument(1)
            guard !zone.isEmpty else {
                report.add(.notCarriedOver, call.location, call.description, "no zone: Sendmail's m4 stops with an error here")
                continue
            }
            var pairs: [(String, ImportedConfiguration.Value)] = [("zone", .string(zone))]
            let message = Self.dnsblMessage(call.argument(2))
            if let message { pairs.append(("message", .string(message))) }
            if call.argument(2).contains("${client_addr}"), Self.deadDNSBL(zone) == nil {
                report.add(.differs, call.location, call.description,
                    "Sendmail puts ${client_addr} in when it reads sendmail.cf (where it is empty); only $&{client_addr} is the client's address there. SwiftMTA puts the client's address in for both")
            }
            if !call.argument(3).isEmpty {
                report.add(.notCarriedOver, call.location, call.description,
                    "the third argument `\(call.argument(3))' (what a failed lookup does): a DNS failure lets the client through in SwiftMTA")
            }
            if let dead = Self.deadDNSBL(zone) {
                config.dnsbl.append(.init(key: "", value: .table(pairs), comments: Self.origin(call.location, "\(call.description): the zone no longer exists"), disabled: true))
                report.add(.notCarriedOver, call.location, call.description,
                    "the zone \(zone) no longer exists (\(dead)); it is written commented out in [relay] dnsbl")
                report.add(.warning, call.location, call.description,
                    "the DNSBL \(zone) no longer exists: it blocks nothing today, and whoever registers the name could list every address and refuse all mail; use a list that is alive (such as zen.spamhaus.org, under its terms)")
            } else {
                config.dnsbl.append(.init(key: "", value: .table(pairs), comments: Self.origin(call.location, call.description), disabled: false))
                report.add(.carriedOver, call.location, call.description, "→ relay.dnsbl: \(zone)")
            }
        }
        if let call = features["promiscuous_relay"] {
            report.add(.warning, call.location, call.description,
                "FEATURE(`promiscuous_relay') MAKES AN OPEN RELAY: anyone on the Internet may send mail to anyone through this host, and spammers find such hosts within hours. It is imported as access entries that let every client address relay (\(Self.accessFileName)); delete them and use AUTH or access RELAY entries for your own networks")
            report.add(.carriedOver, call.location, call.description, "→ \(Self.accessFileName): Connect:0 … Connect:255 RELAY (every IPv4 client), and every global IPv6 prefix")
            report.add(.differs, call.location, call.description,
                "an access RELAY entry also exempts the client from the DNSBL and access checks at connect; with promiscuous_relay Sendmail still makes those")
            for octet in 0...255 { addedAccess.append(("Connect:\(octet)", "RELAY")) }
            for group in 0x2000...0x3FFF { addedAccess.append(("Connect:IPv6:\(String(group, radix: 16))", "RELAY")) }
            for group in 0xFC00...0xFDFF { addedAccess.append(("Connect:IPv6:\(String(group, radix: 16))", "RELAY")) }
        }
    }

    /// A dnsbl message as SwiftMTA's `relay.dnsbl.message` wants it: the text of Sendmail's
    /// `"550 Rejected: " $&{client_addr} " listed"` pieces joined, without the reply code.
    static func dnsblMessage(_ text: String) -> String? {
        var message = text.mcTrimmed
        guard !message.isEmpty else { return nil }
        if message.contains("\"") { message = message.replacingOccurrences("\"", "").mcWords().joined(separator: " ") }
        message = message.replacingOccurrences("$&{client_addr}", "${client_addr}")
        let words = message.split(separator: " ", maxSplits: 1)
        if words.count == 2, words[0].count == 3, words[0].allSatisfy(\.isNumber) { message = String(words[1]) }
        return message
    }
}
