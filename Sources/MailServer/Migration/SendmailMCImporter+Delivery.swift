import MailMaps

/// How mail leaves, for SwiftMTA's queue runner: the local mailer's mailboxes (`[local]`), when
/// delivery starts (`queue.delivery_mode`), the connection cache, the TLS each next hop gets (the
/// `TLS_Srv:` and `Try_TLS:` entries of Sendmail's access map as `[maps] tls_policy`), and how
/// credentials from the authinfo map are sent.
extension SendmailMCImporter {
    /// The TLS policy text map written beside the configuration.
    package static let tlsPolicyFileName = "imported-tls-policy"

    /// The folder Sendmail's local mailers (mail.local, procmail, /bin/mail) append to.
    static let sendmailMailSpool = "/var/mail"

    mutating func translateDelivery() throws(MCMacroProcessor.Failure) {
        try translateLocalMailer()
        try translateDeliveryMode()
        try translateConnectionCache()
        translateOutboundTLS()
        translateAuthInfoSending()
        report.add(.differs, nil, "sendmail program",
            "programs that run /usr/sbin/sendmail (cron, mailx, PHP's mail()) or mailq reach SwiftMTA through `swiftmta sendmail`: once Sendmail's package is removed, link /usr/sbin/sendmail and /usr/bin/mailq to swiftmta (a link named sendmail or mailq runs as that command); swiftmta sendmail takes -t, -i, -f, -F, -bm, -bs, -bp, -q and -odq as Sendmail does")
    }

    // MARK: - The local mailer

    private mutating func translateLocalMailer() throws(MCMacroProcessor.Failure) {
        let location = localMailerLocation
        let subject = location == nil ? "the local mailer" : "MAILER(`local')"
        // FEATURE(local_lmtp) makes mail.local the local mailer whatever OSTYPE chose.
        let procmail = features["local_lmtp"] == nil && (features["local_procmail"] != nil || osType == "linux" || osType == "debian")
        let program = !procmail ? "mail.local" : features["local_procmail"] != nil ? "procmail" : "procmail (or mail.local)"
        config.set("local", "mail_directory", .string(Self.sendmailMailSpool),
            comment: Self.origin(location, "\(subject): Sendmail's local mailer (\(program)) appends to /var/mail/USER"))
        config.set("local", "mailbox_format", .string("mbox"),
            comment: ["an mbox file per user, locked with fcntl and a dot-lock as mail.local locks it (SwiftMTA's own default is maildir)"])
        report.add(.carriedOver, location, subject,
            "→ local.mail_directory = \"\(Self.sendmailMailSpool)\", local.mailbox_format = \"mbox\": the mailboxes Sendmail's local mailer wrote, in the same format, so that users' mail readers find old and new mail together")
        // OSTYPE(linux) and OSTYPE(debian) say so at their own line.
        if let call = features["local_procmail"] {
            report.add(.differs, call.location, call.description,
                "Sendmail handed local mail to procmail, which runs each user's ~/.procmailrc; SwiftMTA's local mailer appends to the mailbox itself and runs no filter")
        }
        if !procmail {
            report.add(.differs, location, subject,
                "mail.local writes a Content-Length: header and leaves a body line that starts with \"From \" as it is (readers that go by Content-Length find the end); SwiftMTA's mbox writes \">From \" for it (mboxrd), which every mbox reader reads, and no Content-Length")
        }
        if let masquerade = masqueradeAs {
            report.add(.differs, masquerade.location, masquerade.description,
                "Sendmail masquerades the sender of local deliveries too (the From_ line, Return-Path and From: in /var/mail/USER name \(masquerade.argument(0))); SwiftMTA masquerades only what leaves by a network mailer, so local mailboxes show the sender as it came")
        }
        report.add(.differs, location, subject,
            "Sendmail's local delivery reads each user's ~/.forward (and runs the programs and writes the files aliases name); SwiftMTA's local mailer reads no ~/.forward and refuses alias entries that are programs, files or :include: (put forwards in the aliases file)")
        for name in ["LOCAL_MAILER_PATH", "LOCAL_MAILER_ARGS"] where definedAt(name) != nil {
            let text = try value(name) ?? ""
            if name == "LOCAL_MAILER_PATH", text.hasSuffix("/mail.local") || text.hasSuffix("/procmail") || text.hasSuffix("/sensible-mda") || text == "/bin/mail" {
                note(name, .notNeeded, "`\(text)': SwiftMTA's local mailer appends to the same mbox files itself")
            } else if name == "LOCAL_MAILER_ARGS" {
                note(name, .notNeeded, "the local mailer's command line: SwiftMTA runs no program for local delivery")
            } else {
                note(name, .notCarriedOver,
                    "`\(text)': SwiftMTA runs no local delivery program; it appends to /var/mail/USER itself. To deliver into a mail store (Dovecot, Cyrus) instead, give the local domain a mailertable entry lmtp:unix:SOCKET and let the store's LMTP server take the mail")
            }
        }
    }

    // MARK: - When delivery starts

    private mutating func translateDeliveryMode() throws(MCMacroProcessor.Failure) {
        guard let location = definedAt("confDELIVERY_MODE"), let text = try value("confDELIVERY_MODE"), let letter = text.lowercased().first else {
            config.set("queue", "delivery_mode", .string("background"), comment: ["Sendmail's default DeliveryMode, b (background): delivery starts as soon as the message is on disk"])
            return
        }
        let subject = defineSubject("confDELIVERY_MODE")
        switch letter {
        case "b":
            config.set("queue", "delivery_mode", .string("background"), comment: Self.origin(location, "confDELIVERY_MODE"))
            report.add(.carriedOver, location, subject, "→ queue.delivery_mode = \"background\"")
        case "i":
            config.set("queue", "delivery_mode", .string("background"), comment: Self.origin(location, "confDELIVERY_MODE i (interactive): delivered at once, in the background"))
            report.add(.carriedOver, location, subject, "→ queue.delivery_mode = \"background\"")
            report.add(.differs, location, subject,
                "interactive: Sendmail delivered before it took the next message of the session; SwiftMTA starts delivery as soon as the message is on disk and goes on with the session (the message is safe on disk either way)")
        case "q", "d":
            config.set("queue", "delivery_mode", .string("queue"), comment: Self.origin(location, "confDELIVERY_MODE \(letter): messages wait for a queue run"))
            report.add(.carriedOver, location, subject, "→ queue.delivery_mode = \"queue\" (swiftmta queue run or flush delivers; run it from cron as Sendmail's -q was)")
            if letter == "d" {
                report.add(.differs, location, subject, "deferred: Sendmail also put off map and DNS lookups until the queue run; SwiftMTA looks up at RCPT as it answers")
            }
        default:
            report.add(.notCarriedOver, location, subject, "`\(text)' is not a delivery mode (i, b, q or d): Sendmail refuses it; SwiftMTA's default (background) applies")
        }
    }

    // MARK: - The connection cache

    private mutating func translateConnectionCache() throws(MCMacroProcessor.Failure) {
        if let location = definedAt("confMCI_CACHE_TIMEOUT"), let text = try value("confMCI_CACHE_TIMEOUT") {
            // ConnectionCacheTimeout: a bare number is seconds (Sendmail's convtime with 's').
            let written = text.allSatisfy(\.isNumber) ? text + "s" : text
            if let duration = QueueSettings.parseDuration(written), duration >= .zero {
                // Written in seconds: the key takes one unit, Sendmail's times may have several (1m30s).
                let capped = duration > .seconds(300)
                let seconds = capped ? "300s" : "\(duration.components.seconds)s"
                config.set("queue", "connection_idle", .string(seconds),
                    comment: Self.origin(location, "confMCI_CACHE_TIMEOUT `\(text)'" + (capped ? ", at most 300s here" : "")))
                report.add(.carriedOver, location, defineSubject("confMCI_CACHE_TIMEOUT"), "→ queue.connection_idle = \"\(seconds)\"")
                if capped {
                    report.add(.differs, location, defineSubject("confMCI_CACHE_TIMEOUT"), "SwiftMTA keeps an idle session at most 300 s")
                }
            } else {
                note("confMCI_CACHE_TIMEOUT", .notCarriedOver, "`\(text)' is not a time SwiftMTA reads; its default of 2 s applies (queue.connection_idle)")
            }
        }
        if definedAt("confMCI_CACHE_SIZE") != nil {
            note("confMCI_CACHE_SIZE", .differs,
                "Sendmail keeps this many open connections in all; SwiftMTA keeps idle sessions per destination (up to queue.destination_concurrency, 20, each) for queue.connection_idle")
        }
    }

    // MARK: - Outbound TLS

    /// One `TLS_Srv:`, `Try_TLS:` (or other STARTTLS) entry of the access map's text.
    package struct AccessTLSEntry {
        package var tag: String
        package var name: String
        package var value: String
        package var location: MCLocation
    }

    /// The STARTTLS entries of an access map's text (`TLS_Srv:`, `Try_TLS:`, `TLS_Clt:`,
    /// `TLS_Rcpt:`, `Srv_Features:`, `Clt_Features:`), with their lines.
    package static func accessTLSEntries(_ text: String, file: String) -> [AccessTLSEntry] {
        let tags = ["tls_srv", "try_tls", "tls_clt", "tls_rcpt", "srv_features", "clt_features"]
        var found: [AccessTLSEntry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.mcTrimmed
            guard !line.isEmpty, !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let tag = line[..<colon].lowercased()
            guard tags.contains(tag) else { continue }
            let words = line[line.index(after: colon)...].split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            let name = words.first.map(String.init) ?? ""
            let value = words.count > 1 ? words[1].mcTrimmed : ""
            found.append(AccessTLSEntry(tag: String(line[..<colon]), name: name.lowercased(), value: value, location: MCLocation(file: file, line: index + 1)))
        }
        return found
    }

    /// The access map's text, when there is one to read: the text map itself, or the text beside
    /// the `.db` that makemap built it from.
    private func accessText() -> (path: String, text: String)? {
        guard case .string(let spec)? = config.value("maps", "access"), let colon = spec.firstIndex(of: ":") else { return nil }
        guard let path = spec[spec.index(after: colon)...].mcWords().last(where: { !$0.hasPrefix("-") }), Self.exists(path),
              !Self.isDirectory(path), case .success(let bytes) = Self.readBytes(path, limit: 16 * 1024 * 1024) else { return nil }
        return (path, String(decoding: bytes, as: UTF8.self))
    }

    /// The `TLS_Srv:` and `Try_TLS:` entries of the access map as a TLS policy map
    /// (``tlsPolicyFileName``), searched by the runner for each next hop.
    private mutating func translateOutboundTLS() {
        guard let call = features["access_db"], let (path, text) = accessText() else {
            if let call = features["access_db"], case .string(let spec)? = config.value("maps", "access"), spec.hasPrefix("hash:") || spec.hasPrefix("btree:") {
                report.add(.differs, call.location, call.description,
                    "only the .db of the access map is here, not the text makemap built it from: any TLS_Srv: and Try_TLS: entries in it are not carried over to maps.tls_policy (import again with the text beside it)")
            }
            return
        }
        var policies: [(key: String, value: String, from: AccessTLSEntry)] = []
        let smartHost = smartHostName()
        func add(_ key: String, _ value: String, _ entry: AccessTLSEntry) {
            if let index = policies.firstIndex(where: { $0.key == key }) {
                // TLS_Srv (a requirement) wins over Try_TLS (whether to try).
                if entry.tag.lowercased() == "tls_srv" { policies[index] = (key, value, entry) }
            } else {
                policies.append((key, value, entry))
            }
        }
        for entry in Self.accessTLSEntries(text, file: path) {
            let subject = "\(entry.tag):\(entry.name) \(entry.value)"
            if ["tls_srv", "try_tls"].contains(entry.tag.lowercased()), let problem = Self.policyKeyProblem(entry.name) {
                report.add(.notCarriedOver, entry.location, subject, problem)
                continue
            }
            switch entry.tag.lowercased() {
            case "tls_srv":
                let requirement = entry.value.uppercased()
                let level: String
                if requirement.hasPrefix("VERIFY") {
                    level = "verify"
                } else if requirement.hasPrefix("ENCR") {
                    level = "encrypt"
                } else {
                    report.add(.notCarriedOver, entry.location, subject, "`\(entry.value)' is not a TLS_Srv requirement SwiftMTA knows (VERIFY, VERIFY:bits, ENCR:bits)")
                    continue
                }
                let keys = Self.policyKeys(for: entry.name, smartHost: smartHost)
                for key in keys { add(key, level, entry) }
                report.add(.carriedOver, entry.location, subject, "→ maps.tls_policy (\(Self.tlsPolicyFileName)): \(keys.joined(separator: ", ")) \(level)")
                if let bits = requirement.split(separator: ":").dropFirst().first.flatMap({ Int($0.prefix { $0.isNumber }) }), bits > 128 {
                    report.add(.differs, entry.location, subject, "at least \(bits) bits: SwiftMTA's TLS 1.2 and 1.3 ciphers have 128 or 256; the key length is not checked")
                }
                if requirement.contains("+") {
                    report.add(.notCarriedOver, entry.location, subject, "the extra checks after + (CN, CS, CI …): SwiftMTA's verify checks the certificate's chain and the host name")
                }
            case "try_tls":
                if entry.value.uppercased().hasPrefix("NO") {
                    let keys = Self.policyKeys(for: entry.name, smartHost: smartHost)
                    for key in keys { add(key, "none", entry) }
                    report.add(.carriedOver, entry.location, subject, "→ maps.tls_policy (\(Self.tlsPolicyFileName)): \(keys.joined(separator: ", ")) none")
                } else {
                    report.add(.notNeeded, entry.location, subject, "STARTTLS is tried whenever it is offered anyway (tls_policy may)")
                }
            case "tls_clt":
                report.add(.notCarriedOver, entry.location, subject, "SwiftMTA's server requires no client certificate of anyone: the client's TLS is not checked at RCPT")
            case "tls_rcpt":
                report.add(.notCarriedOver, entry.location, subject, "SwiftMTA's TLS policy is per next hop (maps.tls_policy), not per recipient")
            default:
                report.add(.notCarriedOver, entry.location, subject, "Sendmail's per-host SMTP features: SwiftMTA has no equivalent")
            }
        }
        guard !policies.isEmpty else { return }
        var lines = [
            "# Written by swiftmta import-mc from the TLS_Srv: and Try_TLS: entries of \(path),",
            "# for the configuration beside it (maps.tls_policy). Keys: a recipient domain and .parent for",
            "# MX delivery, [host] for a smart host or a mailertable [host]; values: none, may, encrypt,",
            "# verify, secure, dane (docs/configuration.md).",
        ]
        for policy in policies { lines.append("\(policy.key)\t\(policy.value)") }
        extraFiles.append((Self.tlsPolicyFileName, lines.joined(separator: "\n") + "\n"))
        config.set("maps", "tls_policy", .string("text:\(Self.tlsPolicyFileName)"),
            comment: ["\(call.location): the TLS_Srv: and Try_TLS: entries of the access map (\(Self.tlsPolicyFileName), beside this file)"])
        report.add(.differs, call.location, call.description,
            "Sendmail looks TLS_Srv: and Try_TLS: up by the name of the server it connects to and its parent domains; SwiftMTA's tls_policy by the recipient domain (and .parent) for MX delivery and by the host for a smart host or mailertable [host]. Each entry was written for all three (NAME, .NAME, [NAME]); an entry naming the MX host of another domain needs that domain's own line")
    }

    /// The keys of the TLS policy map that stand for Sendmail's `TLS_Srv:NAME`: the recipient
    /// domain and its subdomains (MX delivery) and the host (a smart host or mailertable host),
    /// plus the smart host itself when it is under NAME. An address is a `[address]` key only.
    package static func policyKeys(for name: String, smartHost: String?) -> [String] {
        let bare = name.hasSuffix(".") ? String(name.dropLast()) : name
        if IPAddress(bare) != nil || bare.first?.isNumber == true && bare.allSatisfy({ $0.isNumber || $0 == "." }) {
            return ["[\(bare)]"]
        }
        var keys = [bare, "." + bare, "[\(bare)]"]
        if let smartHost, smartHost != bare, smartHost.hasSuffix("." + bare) { keys.append("[\(smartHost)]") }
        return keys
    }

    /// Why Sendmail's `TLS_Srv:NAME` cannot be a TLS policy key, or `nil`: an empty name (Sendmail's
    /// default entry, for every server), or part of an address (Sendmail matches address prefixes;
    /// the policy map takes whole `[address]` keys).
    static func policyKeyProblem(_ name: String) -> String? {
        let bare = name.hasSuffix(".") ? String(name.dropLast()) : name
        if bare.isEmpty || bare.hasPrefix(".") {
            return "an entry for every server (or a name starting with a dot): the TLS policy map has no default entry; SwiftMTA's default for every next hop is may"
        }
        if IPAddress(bare) == nil, bare.first?.isNumber == true, bare.allSatisfy({ $0.isNumber || $0 == "." }) {
            return "an address prefix: the TLS policy map takes whole [address] keys; give each address its own entry"
        }
        if bare.lowercased().hasPrefix("ipv6:") {
            return "an IPv6 address (prefix): give the whole address as [IPv6:…] in maps.tls_policy by hand"
        }
        return nil
    }

    /// The host of `routing.smart_host` (`relay:[mail.isp.example]` → `mail.isp.example`).
    private func smartHostName() -> String? {
        guard case .string(let text)? = config.value("routing", "smart_host") else { return nil }
        var host = Substring(text)
        if let colon = host.firstIndex(of: ":"), !host.hasPrefix("[") { host = host[host.index(after: colon)...] }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return host.lowercased()
    }

    // MARK: - Credentials

    private mutating func translateAuthInfoSending() {
        guard let call = features["authinfo"] else { return }
        report.add(.differs, call.location, call.description,
            "Sendmail sends the credentials of the authinfo map to a server that offers AUTH after STARTTLS when the server offers it, and in the clear when it does not; SwiftMTA never sends them without TLS: a destination with credentials gets at least tls_policy encrypt, so mail to a server without STARTTLS waits in the queue. Only if the path to it is trusted, give it `[host] may auth_without_tls=yes` in maps.tls_policy")
    }
}
