import MailAuth
import MailMaps
import MailTLS

/// AUTH, TLS, the SMTP settings, the listeners, the queue, and loopback trust.
extension SendmailMCImporter {
    /// Sendmail's AuthMechanisms when confAUTH_MECHANISMS is not defined (proto.m4, 8.17).
    static let sendmailDefaultMechanisms = ["EXTERNAL", "GSSAPI", "KERBEROS_V4", "DIGEST-MD5", "CRAM-MD5"]

    /// Where Sendmail's libsasl2 application file may be (its SASL application name is
    /// `Sendmail`), Debian's place first.
    static let saslConfigPlaces = [
        "/etc/mail/sasl/Sendmail.conf", "/etc/sasl2/Sendmail.conf", "/usr/lib/sasl2/Sendmail.conf",
        "/usr/lib/x86_64-linux-gnu/sasl2/Sendmail.conf", "/usr/lib/aarch64-linux-gnu/sasl2/Sendmail.conf",
    ]

    // MARK: - AUTH

    mutating func translateAuthentication() throws(MCMacroProcessor.Failure) {
        let mechanismsLocation = definedAt("confAUTH_MECHANISMS")
        var offered: [String]
        if mechanismsLocation != nil {
            offered = (try value("confAUTH_MECHANISMS") ?? "").mcWords(commas: true).map { $0.uppercased() }
        } else if !trustedMechanisms.isEmpty {
            offered = Self.sendmailDefaultMechanisms
            report.add(.notNeeded, trustedMechanisms[0].1, "TRUST_AUTH_MECH",
                "without confAUTH_MECHANISMS Sendmail offers its default mechanisms (\(offered.joined(separator: " "))), as far as libsasl2 has them")
        } else {
            report.add(.differs, nil, "AUTH",
                "the .mc sets no AUTH mechanisms; Sendmail then offers its default ones (\(Self.sendmailDefaultMechanisms.joined(separator: " "))) as far as Cyrus SASL has them, trusting none for relaying. The imported configuration offers no AUTH: add [auth] (backend = \"cyrus\" uses the same sasldb2 or saslauthd) if clients log in")
            note("confAUTH_OPTIONS", .notNeeded, "no AUTH is offered")
            note("confAUTH_REALM", .notNeeded, "no AUTH is offered")
            return
        }
        offered = Self.unique(offered)
        let saslFile = Self.saslConfigPlaces.compactMap { located($0) }.first
        let hostname = config.value("", "hostname").flatMap { value -> String? in
            if case .string(let name) = value { return name }
            return nil
        } ?? ServerCommandLine.localHostname()
        let realm = try value("confAUTH_REALM")
        var cyrus = CyrusSASLServer.Configuration(serverName: hostname, userRealm: realm?.isEmpty == false ? realm : nil)
        var saslProblem: String?
        if let saslFile {
            do {
                try cyrus.load(applicationFile: saslFile)
            } catch {
                saslProblem = error.message
            }
        }
        // Without a sasldb_path of its own, Sendmail's libsasl2 checks passwords against
        // /etc/sasldb2 (its auxprop default); SwiftMTA names that file explicitly.
        let check = cyrus.options["pwcheck_method"].map { $0.mcWords() } ?? ["auxprop"]
        var sasldb: String?
        if check.contains("auxprop"), cyrus.options["sasldb_path"] == nil {
            sasldb = located("/etc/sasldb2")
            if let sasldb {
                cyrus.sasldbPath = sasldb
            } else if saslProblem == nil {
                saslProblem = "no user store: Sendmail's libsasl2 checks passwords against /etc/sasldb2\(options.mapsDirectory.map { " (or \($0)/sasldb2)" } ?? ""), which is not there\(saslFile == nil ? ", and no Sendmail.conf names another (pwcheck_method: saslauthd)" : "")"
            }
        }
        var available: [String]?
        if saslProblem == nil {
            do {
                available = try CyrusSASLServer(configuration: cyrus).mechanisms.map(\.rawValue)
            } catch {
                saslProblem = error.message
            }
        }
        var kept: [String] = []
        for name in offered {
            guard SASLMechanismName(name) != nil else {
                note("confAUTH_MECHANISMS", .notCarriedOver, "\(name) is not a SASL mechanism name (RFC 4422 §3.1)")
                continue
            }
            if let available, !available.contains(name) {
                report.add(.notNeeded, mechanismsLocation ?? trustedMechanisms.first?.1, mechanismsLocation == nil ? "AuthMechanisms" : defineSubject("confAUTH_MECHANISMS"),
                    "\(name): libsasl2 here has no plugin for it, so Sendmail does not offer it either")
                continue
            }
            kept.append(name)
        }
        let comment = Self.origin(mechanismsLocation, mechanismsLocation == nil ? "Sendmail's default AuthMechanisms" : "confAUTH_MECHANISMS")
        guard !kept.isEmpty else {
            report.add(.notCarriedOver, mechanismsLocation, "AUTH",
                "none of \(offered.joined(separator: " ")) is available from libsasl2 here (install libsasl2-modules), so no AUTH is offered, as in Sendmail")
            return
        }
        // A set-up in which no one can log in is written commented out (and says why), so
        // that the configuration runs as Sendmail did: offering AUTH that always fails.
        let disabled = saslProblem != nil
        if let saslProblem {
            report.add(.notCarriedOver, mechanismsLocation ?? trustedMechanisms.first?.1, "AUTH",
                "Cyrus SASL cannot check passwords here: \(saslProblem). No one could log in to Sendmail so either; [auth] is written commented out: make the users' store (saslpasswd2 -f FILE USER, then auth.sasldb = \"FILE\") or name a Sendmail.conf (auth.sasl_config) and uncomment it")
        }
        config.set("auth", "backend", .string("cyrus"), comment: ["Cyrus SASL, as Sendmail uses it: the same sasldb2, saslauthd or PAM set-up"], disabled: disabled)
        if let sasldb {
            config.set("auth", "sasldb", .string(sasldb), comment: ["the sasldb2 Sendmail's libsasl2 reads (its default, /etc/sasldb2)"], disabled: disabled)
            report.add(.carriedOver, nil, "sasldb2", "→ auth.sasldb = \(sasldb)")
        }
        if let saslFile {
            config.set("auth", "sasl_config", .string(saslFile), comment: ["Sendmail's libsasl2 application file"], disabled: disabled)
            report.add(.carriedOver, nil, "Sendmail.conf", "→ auth.sasl_config = \(saslFile) (pwcheck_method, mech_list, sasldb_path as Sendmail had them)")
        }
        config.set("auth", "mechanisms", .strings(kept), comment: comment, disabled: disabled)
        carried("confAUTH_MECHANISMS", to: "auth.mechanisms")

        let trustLocation = trustedMechanisms.first?.1
        var trusted: [String] = []
        for (name, location) in trustedMechanisms {
            if kept.contains(name) {
                if !trusted.contains(name) { trusted.append(name) }
            } else {
                report.add(.notNeeded, location, "TRUST_AUTH_MECH", "\(name) is not offered, so trusting it changes nothing")
            }
        }
        config.set("auth", "trusted_mechanisms", .strings(trusted),
            comment: trustLocation == nil ? ["no TRUST_AUTH_MECH: a successful AUTH lets no one relay, as in Sendmail"] : Self.origin(trustLocation, "TRUST_AUTH_MECH"),
            disabled: disabled)
        for location in Set(trustedMechanisms.map(\.1)).sorted() {
            report.add(.carriedOver, location, shown(location, "TRUST_AUTH_MECH"), "→ auth.trusted_mechanisms")
        }

        let optionsText = try value("confAUTH_OPTIONS") ?? ""
        var letters: [String] = []
        for character in optionsText where character != "," && character != " " && character != "\t" {
            if (try? SASLAuthOptions(sendmailFlags: String(character))) != nil {
                if character != "c", character != "u" { letters.append(String(character)) }
            } else {
                note("confAUTH_OPTIONS", .notCarriedOver, "the flag \(character) is not one of Sendmail's AuthOptions")
            }
        }
        config.set("auth", "options", .strings(letters),
            comment: definedAt("confAUTH_OPTIONS") == nil ? ["no confAUTH_OPTIONS: none, as in Sendmail"] : Self.origin(definedAt("confAUTH_OPTIONS"), "confAUTH_OPTIONS"),
            disabled: disabled)
        carried("confAUTH_OPTIONS", to: "auth.options")
        let plaintext = kept.filter { $0 == "PLAIN" || $0 == "LOGIN" }
        if !plaintext.isEmpty, !letters.contains("p") {
            report.add(.warning, definedAt("confAUTH_OPTIONS") ?? mechanismsLocation, "AUTH",
                "\(plaintext.joined(separator: " and ")) without confAUTH_OPTIONS `p': passwords cross the network in the clear on a connection without TLS. Imported as Sendmail had it (auth.options without \"p\"); add \"p\" so they are offered only after STARTTLS")
        }
        if let realm, !realm.isEmpty {
            config.set("auth", "realm", .string(realm), comment: Self.origin(definedAt("confAUTH_REALM"), "confAUTH_REALM"), disabled: disabled)
            carried("confAUTH_REALM", to: "auth.realm")
        }
    }

    // MARK: - TLS

    mutating func translateTLS() throws(MCMacroProcessor.Failure) {
        note("confDH_PARAMETERS", .notNeeded, "SwiftMTA uses OpenSSL's built-in key exchange groups (elliptic curves, RFC 7919 ffdhe)")
        if let options = try value("confTLS_SRV_OPTIONS"), definedAt("confTLS_SRV_OPTIONS") != nil {
            if options.contains("V") {
                note("confTLS_SRV_OPTIONS", .differs, "V: Sendmail asks clients for no certificate; SwiftMTA asks for one when tls.ca_path or tls.ca_file is set (a client without one is still served)")
            } else {
                note("confTLS_SRV_OPTIONS", .notNeeded, "`\(options)': nothing to change")
            }
        }
        var empty: [String] = []
        func path(_ name: String) throws(MCMacroProcessor.Failure) -> String? {
            guard definedAt(name) != nil, let text = try value(name) else { return nil }
            guard !text.isEmpty else {
                empty.append(name)
                return nil
            }
            return Self.normalized(text)
        }
        let certificate = try path("confSERVER_CERT"), key = try path("confSERVER_KEY")
        let caPath = try path("confCACERT_PATH"), caFile = try path("confCACERT")
        let clientCertificate = try path("confCLIENT_CERT"), clientKey = try path("confCLIENT_KEY")
        for name in empty { note(name, .notNeeded, "empty: Sendmail uses no file for it") }
        guard certificate != nil || key != nil || caPath != nil || caFile != nil || clientCertificate != nil || clientKey != nil else { return }

        var foundCA: (path: String?, file: String?) = (nil, nil)
        if let caPath {
            if let found = located(caPath), Self.isDirectory(found) {
                foundCA.path = found
                config.set("tls", "ca_path", .string(found), comment: Self.origin(definedAt("confCACERT_PATH"), "confCACERT_PATH"))
                carried("confCACERT_PATH", to: "tls.ca_path")
            } else {
                config.set("tls", "ca_path", .string(pointed(caPath)), comment: Self.origin(definedAt("confCACERT_PATH"), "confCACERT_PATH: the folder is not there"), disabled: true)
                note("confCACERT_PATH", .notCarriedOver, "\(pointed(caPath)) is not a folder here: written commented out")
            }
        }
        if let caFile {
            if let found = located(caFile) {
                foundCA.file = found
                config.set("tls", "ca_file", .string(found), comment: Self.origin(definedAt("confCACERT"), "confCACERT"))
                carried("confCACERT", to: "tls.ca_file")
            } else {
                config.set("tls", "ca_file", .string(pointed(caFile)), comment: Self.origin(definedAt("confCACERT"), "confCACERT: the file is not there"), disabled: true)
                note("confCACERT", .notCarriedOver, "\(pointed(caFile)) is not there: written commented out")
            }
        }

        if let certificate, let key {
            let foundCertificate = located(certificate), foundKey = located(key)
            let comment = Self.origin(definedAt("confSERVER_CERT"), "confSERVER_CERT")
            let keyComment = Self.origin(definedAt("confSERVER_KEY"), "confSERVER_KEY")
            if let foundCertificate, let foundKey {
                checkKeySize(foundKey, name: "confSERVER_KEY")
                var tls = TLSConfiguration.server(certificateChainFile: foundCertificate, privateKeyFile: foundKey)
                tls.caDirectory = foundCA.path
                tls.caFile = foundCA.file
                do {
                    _ = try TLSServerContext(configuration: tls)
                    config.set("tls", "certificate", .string(foundCertificate), comment: comment)
                    config.set("tls", "key", .string(foundKey), comment: keyComment)
                    carried("confSERVER_CERT", to: "tls.certificate")
                    carried("confSERVER_KEY", to: "tls.key")
                    tlsUsable = true
                } catch {
                    config.set("tls", "certificate", .string(foundCertificate), comment: comment + ["OpenSSL refuses it: \(error)"], disabled: true)
                    config.set("tls", "key", .string(foundKey), comment: keyComment, disabled: true)
                    note("confSERVER_CERT", .notCarriedOver,
                        "OpenSSL refuses the certificate and key: \(error). Sendmail then runs without STARTTLS (it logs the error), and so does the imported configuration: they are written commented out; make a new key and certificate and uncomment them")
                }
            } else {
                let missing = [foundCertificate == nil ? pointed(certificate) : nil, foundKey == nil ? pointed(key) : nil].compactMap { $0 }
                config.set("tls", "certificate", .string(foundCertificate ?? pointed(certificate)), comment: comment + ["not there: \(missing.joined(separator: ", "))"], disabled: true)
                config.set("tls", "key", .string(foundKey ?? pointed(key)), comment: keyComment, disabled: true)
                note("confSERVER_CERT", .notCarriedOver,
                    "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not there: Sendmail runs without STARTTLS then, and so does the imported configuration (tls.certificate and tls.key are written commented out; uncomment them when the files exist)")
                note("confSERVER_KEY", .notCarriedOver, "see confSERVER_CERT")
            }
        } else if certificate != nil || key != nil {
            note(certificate != nil ? "confSERVER_CERT" : "confSERVER_KEY", .notCarriedOver,
                "confSERVER_CERT and confSERVER_KEY go together: with one only, Sendmail offers no STARTTLS")
        }

        for (name, keyName, value, configKey) in [("confCLIENT_CERT", "certificate", clientCertificate, "client_certificate"), ("confCLIENT_KEY", "key", clientKey, "client_key")] {
            guard let value else { continue }
            if let found = located(value) {
                if keyName == "key", checkKeySize(found, name: name) {
                    config.set("tls", configKey, .string(found), comment: Self.origin(definedAt(name), "\(name): a key OpenSSL refuses"), disabled: true)
                    if let certificate = config.value("tls", "client_certificate") {
                        config.set("tls", "client_certificate", certificate, disabled: true)
                    }
                    note(name, .notCarriedOver, "OpenSSL refuses the key (see the warning): delivery presents no client certificate, as Sendmail's TLS client cannot use it either; tls.client_certificate and tls.client_key are written commented out")
                    continue
                }
                config.set("tls", configKey, .string(found), comment: Self.origin(definedAt(name), name))
                carried(name, to: "tls.\(configKey)")
            } else {
                config.set("tls", configKey, .string(pointed(value)), comment: Self.origin(definedAt(name), "\(name): not there"), disabled: true)
                note(name, .notCarriedOver, "\(pointed(value)) is not there: written commented out (delivery presents no client certificate, as Sendmail without it)")
            }
        }
    }

    /// Warns about an RSA (or DSA, DH) key under 2048 bits, read with OpenSSL through MailTLS
    /// (once per file); returns whether it is that weak.
    @discardableResult
    private mutating func checkKeySize(_ path: String, name: String) -> Bool {
        guard let facts = try? TLSPrivateKeyFacts.load(pemFile: path) else { return false }
        let weak = ["RSA", "RSA-PSS", "DSA", "DH"].contains(facts.algorithm) ? facts.bits < 2048 : facts.bits < 224
        if weak, !report.entries.contains(where: { $0.section == .warning && $0.message.hasPrefix(path + " is a ") }) {
            report.add(.warning, definedAt(name), defineSubject(name),
                "\(path) is a \(facts.bits)-bit \(facts.algorithm) key: too weak today (NIST SP 800-131A needs 2048 bits since 2014), and OpenSSL's default security level refuses it. Make a new one: openssl req -x509 -newkey rsa:3072 -nodes -keyout KEY -out CERT -days 825")
        }
        return weak
    }

    // MARK: - SMTP

    mutating func translateSMTP() throws(MCMacroProcessor.Failure) {
        let privacyLocation = definedAt("confPRIVACY_FLAGS")
        let flags = (try value("confPRIVACY_FLAGS") ?? "").mcWords(commas: true).map { $0.lowercased() }
        var kept: [String] = []
        for flag in flags {
            if (try? PrivacyOptions(flags: [flag])) != nil {
                if !kept.contains(flag) { kept.append(flag) }
            } else {
                note("confPRIVACY_FLAGS", .notCarriedOver, "the privacy flag \(flag): SwiftMTA has no equivalent")
            }
        }
        if !kept.isEmpty {
            config.set("smtp", "privacy", .strings(kept),
                comment: privacyLocation == nil ? ["confPRIVACY_FLAGS: Sendmail's default"] : Self.origin(privacyLocation, "confPRIVACY_FLAGS"))
            carried("confPRIVACY_FLAGS", to: "smtp.privacy")
        }
        if let greeting = try value("confSMTP_LOGIN_MSG"), definedAt("confSMTP_LOGIN_MSG") != nil {
            if let problem = SendmailMacros.problem(in: greeting) {
                note("confSMTP_LOGIN_MSG", .notCarriedOver, "`\(greeting)': \(problem)")
            } else {
                config.set("smtp", "greeting", .string(greeting), comment: Self.origin(definedAt("confSMTP_LOGIN_MSG"), "confSMTP_LOGIN_MSG"))
                carried("confSMTP_LOGIN_MSG", to: "smtp.greeting")
            }
        }
        let helpLocation = definedAt("HELP_FILE")
        let help = try value("HELP_FILE") ?? "\(settingsDirectory)helpfile"
        if let found = located(help) {
            let subject = helpLocation == nil ? "HELP_FILE" : defineSubject("HELP_FILE")
            let problem: String?
            switch Self.readBytes(found, limit: 1 << 20) {
            case .success(let bytes):
                do {
                    _ = try SendmailHelpFile(text: String(decoding: bytes, as: UTF8.self))
                    problem = nil
                } catch {
                    problem = "\(found):\(error.line.map(String.init) ?? ""): \(error.message)"
                }
            case .failure(let failure):
                problem = failure.message
            }
            let comment = Self.origin(helpLocation, helpLocation == nil ? "HELP_FILE (Sendmail's default)" : "HELP_FILE")
            if let problem {
                config.set("smtp", "help_file", .string(found), comment: comment + ["SwiftMTA cannot read it: \(problem)"], disabled: true)
                report.add(.notCarriedOver, helpLocation, subject,
                    "SwiftMTA's help file reader refuses \(problem); written commented out, so HELP gives SwiftMTA's own text")
            } else {
                config.set("smtp", "help_file", .string(found), comment: comment)
                report.add(.carriedOver, helpLocation, subject, "→ smtp.help_file = \(found)")
            }
        } else if helpLocation != nil {
            note("HELP_FILE", .notCarriedOver, "\(pointed(help)) is not there: HELP gives SwiftMTA's own answer, as Sendmail says \"HELP not implemented\" then")
        }
        if let text = try value("confMAX_MESSAGE_SIZE"), definedAt("confMAX_MESSAGE_SIZE") != nil {
            if let size = Int(text), size >= 1024, size <= 1 << 40 {
                config.set("smtp", "max_message_size", .integer(size), comment: Self.origin(definedAt("confMAX_MESSAGE_SIZE"), "confMAX_MESSAGE_SIZE"))
                carried("confMAX_MESSAGE_SIZE", to: "smtp.max_message_size")
            } else {
                note("confMAX_MESSAGE_SIZE", .notCarriedOver, "`\(text)': SwiftMTA needs a size of 1024 octets to 1 TiB; its default of 52428800 applies")
            }
        } else {
            report.add(.differs, nil, "confMAX_MESSAGE_SIZE",
                "Sendmail takes messages of any size unless confMAX_MESSAGE_SIZE says otherwise; SwiftMTA takes at most 52428800 octets (smtp.max_message_size)")
        }
        if let text = try value("confMAX_RCPTS_PER_MESSAGE"), definedAt("confMAX_RCPTS_PER_MESSAGE") != nil, let count = Int(text), count > 0 {
            if count <= 100_000 {
                config.set("smtp", "max_recipients", .integer(count), comment: Self.origin(definedAt("confMAX_RCPTS_PER_MESSAGE"), "confMAX_RCPTS_PER_MESSAGE"))
                carried("confMAX_RCPTS_PER_MESSAGE", to: "smtp.max_recipients")
            } else {
                note("confMAX_RCPTS_PER_MESSAGE", .notCarriedOver, "\(count): SwiftMTA takes at most 100000")
            }
        } else {
            report.add(.differs, definedAt("confMAX_RCPTS_PER_MESSAGE"), "confMAX_RCPTS_PER_MESSAGE",
                "Sendmail takes any number of recipients; SwiftMTA takes 100 per message (smtp.max_recipients) and answers 452 4.5.3 to more, which clients send again in another transaction (RFC 5321 §4.5.3.1.10)")
        }
        if let text = try value("confTO_COMMAND"), definedAt("confTO_COMMAND") != nil {
            if let duration = Self.duration(text) {
                config.set("smtp", "command_timeout", .string(duration), comment: Self.origin(definedAt("confTO_COMMAND"), "confTO_COMMAND"))
                carried("confTO_COMMAND", to: "smtp.command_timeout")
            } else {
                note("confTO_COMMAND", .notCarriedOver, "`\(text)': not a time-out of 1 s to 1 day")
            }
        }
    }

    /// A Sendmail time (`5m`, `1h30m`, `2d`, `1w`; a bare number is minutes, as for Sendmail's
    /// time-outs) as a SwiftMTA duration in seconds (`"300s"`), if from 1 s to 1 day.
    static func duration(_ text: String) -> String? {
        var total = 0
        var number = ""
        for character in text.mcTrimmed {
            if character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { return nil }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            total += value * unit
            number = ""
        }
        if !number.isEmpty {
            guard let value = Int(number) else { return nil }
            total += value * 60
        }
        guard (1...86_400).contains(total) else { return nil }
        return "\(total)s"
    }

    // MARK: - Listeners

    private struct Daemon {
        var host: String
        var port: Int
        var mode: String
        var name: String
        var location: MCLocation?
        var subject: String
    }

    mutating func translateListeners() {
        var daemons: [Daemon] = []
        if daemonCalls.isEmpty {
            daemons.append(Daemon(host: "0.0.0.0", port: 25, mode: "smtp", name: "MTA", location: nil, subject: "Sendmail's default daemon (Name=MTA, port 25, IPv4)"))
            report.add(.carriedOver, nil, "DaemonPortOptions", "Sendmail's default daemon (port 25 on every IPv4 address) → [[listen]] 0.0.0.0:25 smtp")
        }
        for call in daemonCalls {
            if let daemon = daemon(call.argument(0), location: call.location, subject: call.description) { daemons.append(daemon) }
        }
        if let call = features["no_default_msa"] {
            report.add(.carriedOver, call.location, call.description, "no listener on port 587 but those DAEMON_OPTIONS names")
        } else if let msa = daemon("Port=587, Name=MSA, M=E", location: nil, subject: "Sendmail's default MSA (Port=587, Name=MSA, M=E)") {
            if daemons.contains(where: { $0.port == 587 }) {
                report.add(.notNeeded, nil, "Sendmail's default MSA", "DAEMON_OPTIONS already names port 587")
            } else {
                daemons.append(msa)
                report.add(.carriedOver, nil, "Sendmail's default MSA", "port 587 on every IPv4 address (without FEATURE(`no_default_msa')) → [[listen]] 0.0.0.0:587")
            }
        }
        var maximum: Int?
        if let text = try? value("confMAX_DAEMON_CHILDREN"), definedAt("confMAX_DAEMON_CHILDREN") != nil, let count = Int(text) {
            if count > 0 {
                maximum = count
                carried("confMAX_DAEMON_CHILDREN", to: "listen.max_connections of each listener")
                note("confMAX_DAEMON_CHILDREN", .differs, "Sendmail's limit counts every daemon's connections together; SwiftMTA's counts each listener's")
            } else {
                note("confMAX_DAEMON_CHILDREN", .notNeeded, "0: no limit in Sendmail; SwiftMTA's per listener is 1000 (listen.max_connections)")
            }
        }
        var seen = Set<String>()
        for daemon in daemons {
            let address = daemon.host.contains(":") ? "[\(daemon.host)]:\(daemon.port)" : "\(daemon.host):\(daemon.port)"
            guard seen.insert(address).inserted else {
                report.add(.notNeeded, daemon.location, daemon.subject, "\(address) is already a listener (Sendmail cannot bind it twice either)")
                continue
            }
            var entries: [ImportedConfiguration.Entry] = [
                .init(key: "address", value: .string(address), comments: [], disabled: false),
                .init(key: "mode", value: .string(daemon.mode), comments: [], disabled: false),
            ]
            if let maximum { entries.append(.init(key: "max_connections", value: .integer(maximum), comments: [], disabled: false)) }
            var comments = Self.origin(daemon.location, daemon.subject)
            var disabled = !listenersRun
            if disabled { comments.append("Debian's sendmail.conf ran no daemon (DAEMON_MODE)") }
            if daemon.mode == "smtps", !tlsUsable {
                disabled = true
                comments.append("smtps needs [tls] certificate and key, which are not usable here")
                report.add(.notCarriedOver, daemon.location, daemon.subject, "an SMTPS (implicit TLS) listener without a usable certificate: written commented out, as Sendmail cannot serve it either")
            }
            config.listeners.append(entries)
            config.listenerNotes.append((comments, disabled))
        }
    }

    /// A `DAEMON_OPTIONS` value as a listener, or `nil` (reported) when SwiftMTA cannot listen so.
    private mutating func daemon(_ text: String, location: MCLocation?, subject: String) -> Daemon? {
        var family = "inet", address: String?, port = 25, name = "", modifiers = ""
        for field in text.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1).map { $0.mcTrimmed }
            guard parts.count == 2, let letter = parts[0].lowercased().first else { continue }
            let value = parts[1]
            switch letter {
            case "f": family = value.lowercased()
            case "a": address = value
            case "n": name = value
            case "m": modifiers = value
            case "p":
                switch value.lowercased() {
                case "smtp": port = 25
                case "submission": port = 587
                case "smtps", "ssmtp", "submissions": port = 465
                case "lmtp": port = 24
                default:
                    guard let number = Int(value), (0...65535).contains(number) else {
                        report.add(.notCarriedOver, location, subject, "the port \(value) is not a number or a service SwiftMTA knows (smtp, submission, smtps)")
                        return nil
                    }
                    port = number
                }
            default:
                report.add(.notCarriedOver, location, subject, "\(parts[0])=\(value): SwiftMTA's listeners have no such setting")
            }
        }
        guard family == "inet" || family == "inet6" else {
            report.add(.notCarriedOver, location, subject, "Family=\(family): SwiftMTA listens on IPv4 and IPv6 only")
            return nil
        }
        let host = address.map { $0 == "INADDR_ANY" ? "0.0.0.0" : $0 } ?? (family == "inet6" ? "::" : "0.0.0.0")
        guard IPAddress(host) != nil else {
            report.add(.notCarriedOver, location, subject, "Addr=\(host): SwiftMTA listens on numeric addresses only; give it as one")
            return nil
        }
        var mode = "smtp"
        for flag in modifiers where flag != " " {
            switch flag {
            case "s": mode = "smtps"
            case "a": if mode != "smtps" { mode = "submission" }
            case "E", "O": break
            case "A":
                report.add(.notCarriedOver, location, subject, "M=A (no AUTH here): SwiftMTA offers AUTH on every smtp and submission listener when [auth] has a backend")
            case "S":
                report.add(.notCarriedOver, location, subject, "M=S (no STARTTLS here): SwiftMTA offers STARTTLS on every smtp and submission listener when [tls] is set")
            default:
                report.add(.notCarriedOver, location, subject, "M=\(flag): SwiftMTA's listeners have no such modifier")
            }
        }
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if location != nil { report.add(.carriedOver, location, subject, "→ [[listen]] \(shown) \(mode)") }
        if port == 587, mode == "smtp" {
            report.add(.differs, location, subject,
                "a Sendmail MSA without M=a takes mail without AUTH (its relay rules apply, as on port 25); it is imported as an smtp listener so that it stays so. mode = \"submission\" would require AUTH before MAIL, as RFC 6409 §4.3 asks")
        }
        if modifiers.contains("E") {
            report.add(.notNeeded, location, subject, "M=E (no ETRN): SwiftMTA runs no queue for ETRN")
        }
        return Daemon(host: host, port: port, mode: mode, name: name, location: location, subject: subject)
    }

    // MARK: - Queue

    mutating func translateQueue() throws(MCMacroProcessor.Failure) {
        config.set("queue", "directory", .string("/var/spool/swiftmta"), comment: ["SwiftMTA's own queue (not Sendmail's)"])
        // Sendmail reads a bare number as days for the queue time-outs, minutes for the ages.
        for (name, key, unit) in [("confMIN_QUEUE_AGE", "min_queue_age", "m"), ("confMAX_QUEUE_AGE", "max_queue_age", "m"),
                                  ("confTO_QUEUEWARN", "queuewarn", "d"), ("confTO_QUEUERETURN", "queuereturn", "d")] {
            guard definedAt(name) != nil, let text = try value(name) else { continue }
            let written = text.allSatisfy(\.isNumber) ? text + unit : text
            if let duration = QueueSettings.parseDuration(written), duration > .zero {
                config.set("queue", key, .string(written), comment: Self.origin(definedAt(name), name))
                carried(name, to: "queue.\(key)")
            } else if text == "0" {
                note(name, .differs, "0: no \(name == "confMAX_QUEUE_AGE" ? "longest wait between retries" : "wait before the first retry") in Sendmail; SwiftMTA's default applies (queue.\(key))")
            } else {
                note(name, .notCarriedOver, "`\(text)' is not a time SwiftMTA reads (\"30m\", \"4h\", \"5d\")")
            }
        }
        note("QUEUE_DIR", .notCarriedOver, "Sendmail's queue folder is not SwiftMTA's: its files are in another format")
        report.add(.differs, nil, "queue",
            "messages still in Sendmail's queue (\(definedAt("QUEUE_DIR") == nil ? "/var/spool/mqueue" : "QUEUE_DIR")) are not moved: let Sendmail deliver them (sendmail -q) before switching. SwiftMTA's queue is /var/spool/swiftmta")
    }

    // MARK: - Loopback trust

    mutating func translateLoopbackTrust() {
        addedAccess.insert(contentsOf: [(key: "Connect:127.0.0.1", value: "RELAY"), (key: "Connect:IPv6:::1", value: "RELAY")], at: 0)
        let file = Self.accessFileName
        if case .string(let existing)? = config.value("maps", "access") {
            config.set("maps", "access", .string("sequence:{ { text:\(file) }, { \(existing) } }"),
                comment: ["first the entries this import added (\(file), beside this file), then the .mc's access map"])
        } else {
            config.set("maps", "access", .string("text:\(file)"),
                comment: ["the entries this import added (\(file), beside this file): the .mc has no FEATURE(`access_db')"])
        }
        report.add(.differs, nil, "loopback",
            "Sendmail lets clients at 127.0.0.1 and ::1 relay (proto.m4's Relay_ok: \"originated locally\"); SwiftMTA trusts no client by its address alone, and a loopback client's name (localhost) does not let it relay either (a client elsewhere whose confirmed host name is in class w relays in both). So that the imported configuration behaves as Sendmail did, the import wrote Connect:127.0.0.1 RELAY and Connect:IPv6:::1 RELAY to \(file) beside it, searched before the .mc's own access map (maps.access). Delete them if a proxy, a web application or any program on this host could relay through it for anyone")
        report.add(.differs, nil, "class w",
            "Sendmail also counts this host's own interface addresses as local (it probes them into class w) and lets connections from them relay; SwiftMTA's class w holds only localhost, the host name, local_names and local-host-names: add Connect:ADDRESS RELAY to \(file) for programs here that connect to a public address of this host")
    }

    mutating func reportGeneralDifferences() {
        report.add(.differs, nil, "SMTP",
            "SwiftMTA ends a line only at CRLF and refuses a bare CR or LF in DATA (the SMTP smuggling defence); Sendmail takes a bare LF as a line end")
        report.add(.differs, nil, "SMTP",
            "SwiftMTA's SMTP parser takes RFC 5321 paths only: RCPT TO:<root> or MAIL FROM:<user> without a domain gets 501, where Sendmail takes them (swiftmta route takes them and answers as Sendmail does)")
    }
}
