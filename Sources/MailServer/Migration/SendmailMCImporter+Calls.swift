/// The cf library's macro calls (`FEATURE`, `MAILER`, `MASQUERADE_AS`, …), one by one.
extension SendmailMCImporter {
    /// DNSBL zones that no longer exist (the zone, or the domain it is under): a dead zone lists
    /// nothing today, and whoever registers the name later may list every address.
    static let deadDNSBLDomains: [(suffix: String, note: String)] = [
        ("maps.vix.com", "MAPS left vix.com in 2000; rbl.maps.vix.com no longer exists"),
        ("mail-abuse.org", "MAPS' RBL, DUL and RSS (mail-abuse.org) were shut down; the zones no longer answer"),
        ("ordb.org", "ORDB closed in 2006"),
        ("orbs.org", "ORBS closed in 2001"),
        ("dsbl.org", "DSBL closed in 2009"),
        ("njabl.org", "NJABL closed in 2013"),
        ("ahbl.org", "AHBL closed in 2015 and then listed every address"),
        ("sorbs.net", "SORBS was shut down in 2024"),
        ("rfc-ignorant.org", "rfc-ignorant.org closed in 2012"),
        ("blitzed.org", "the Blitzed OPM closed in 2006"),
    ]

    static func deadDNSBL(_ zone: String) -> String? {
        let name = zone.lowercased().hasSuffix(".") ? String(zone.lowercased().dropLast()) : zone.lowercased()
        return deadDNSBLDomains.first { name == $0.suffix || name.hasSuffix("." + $0.suffix) }?.note
    }

    mutating func handle(_ call: MCMacroCall) {
        let here = call.location
        let shown = call.description
        switch call.name {
        case "OSTYPE":
            osType = call.argument(0).lowercased()
            report.add(.notNeeded, here, shown, "Sendmail's program paths for \(call.argument(0))")
            if ["linux", "debian"].contains(call.argument(0)) {
                report.add(.differs, here, shown,
                    "OSTYPE(`\(call.argument(0))') makes procmail Sendmail's local mailer (FEATURE(`local_procmail') when /usr/bin/procmail exists); SwiftMTA delivers local mail to the mailbox itself, so users' ~/.procmailrc files are not run")
            }
        case "DOMAIN":
            report.add(.notNeeded, here, shown, "a domain file of Sendmail's cf library: its settings are listed on their own")
        case "VERSIONID", "CF_LEVEL", "PUSHDIVERT", "POPDIVERT":
            report.add(.notNeeded, here, shown, "m4 bookkeeping of Sendmail's cf library")
        case "MAILER_DEFINITIONS", "LOCAL_CONFIG", "LOCAL_RULESETS", "LOCAL_RULE_0", "LOCAL_RULE_1", "LOCAL_RULE_2",
             "LOCAL_RULE_3", "LOCAL_NET_CONFIG", "LOCAL_SRV_FEATURES", "LOCAL_TRY_TLS", "LOCAL_TLS_CLIENT",
             "LOCAL_TLS_RCPT", "LOCAL_TLS_SERVER", "LOCAL_TLS_CONN", "LOCAL_OMIT_DEFAULTS":
            report.add(.notNeeded, here, shown, "starts a section of raw sendmail.cf lines; any that follow are listed on their own")
        case "FEATURE":
            feature(call)
        case "MAILER":
            mailer(call)
        case "HACK":
            report.add(.notCarriedOver, here, shown, "a site's own rewriting hack (hack/\(call.argument(0)).m4): SwiftMTA has no rewriting rules")
        case "MASQUERADE_AS":
            masqueradeAs = call
        case "MASQUERADE_DOMAIN":
            masqueradeDomains += call.argument(0).mcWords().map { ($0, here) }
        case "EXPOSED_USER":
            exposedUsers += call.argument(0).mcWords().map { ($0, here) }
        case "LOCAL_DOMAIN":
            localNames += call.argument(0).mcWords().map { ($0, here) }
        case "VIRTUSER_DOMAIN":
            virtuserDomains += call.argument(0).mcWords().map { ($0, here) }
        case "RELAY_DOMAIN":
            relayDomainNames += call.argument(0).mcWords().map { ($0, here) }
        case "MASQUERADE_DOMAIN_FILE", "EXPOSED_USER_FILE", "VIRTUSER_DOMAIN_FILE":
            classFile(call)
        case "RELAY_DOMAIN_FILE":
            relayDomainFiles.append((call.argument(0), here))
        case "TRUST_AUTH_MECH":
            trustedMechanisms += call.argument(0).mcWords(commas: true).map { ($0.uppercased(), here) }
        case "DAEMON_OPTIONS":
            daemonCalls.append(call)
        case "LOCAL_USER", "LOCAL_USER_FILE":
            localUserCalls.append(call)
        case "MASQUERADE_EXCEPTION", "MASQUERADE_EXCEPTION_FILE":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no masquerading exceptions (class N): these hosts are masqueraded like the others")
        case "GENERICS_DOMAIN", "GENERICS_DOMAIN_FILE":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no genericstable (class G): sender addresses are not rewritten per user")
        case "CANONIFY_DOMAIN", "CANONIFY_DOMAIN_FILE":
            report.add(.notNeeded, here, shown, "SwiftMTA does not canonify host names through DNS, so there is nothing to except")
        case "LDAPROUTE_DOMAIN", "LDAPROUTE_DOMAIN_FILE", "LDAPROUTE_EQUIVALENT", "LDAPROUTE_EQUIVALENT_FILE":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no ldap_routing: give the LDAP lookup as an ldap: map spec (maps.virtusertable) instead")
        case "CLIENT_OPTIONS":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no setting for the address or family of outgoing connections")
        case "INPUT_MAIL_FILTER", "MAIL_FILTER":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no milter interface: mail is no longer passed to the filter \(call.argument(0))")
            report.add(.warning, here, shown, "the milter \(call.argument(0)) (spam or virus filtering, DKIM, …) no longer sees the mail: check what it did before switching")
        case "QUEUE_GROUP":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has one queue: queue groups are not carried over")
        case "MODIFY_MAILER_FLAGS":
            report.add(.notCarriedOver, here, shown, "SwiftMTA's mailers have no Sendmail flags to change")
        case "UUCPSMTP", "SITECONFIG", "SITE":
            report.add(.notCarriedOver, here, shown, "UUCP is not supported")
        default:
            report.add(.notCarriedOver, here, shown, "a macro of Sendmail's cf library that SwiftMTA has no equivalent for")
        }
    }

    /// `MASQUERADE_DOMAIN_FILE`, `EXPOSED_USER_FILE`, `VIRTUSER_DOMAIN_FILE`: SwiftMTA takes
    /// these as lists in the configuration, so the file is read now.
    private mutating func classFile(_ call: MCMacroCall) {
        let words = call.argument(0).mcWords()
        let optional = words.contains("-o")
        guard let path = words.last(where: { !$0.hasPrefix("-") }) else {
            report.add(.notCarriedOver, call.location, call.description, "no file named")
            return
        }
        guard let found = located(path), let names = Self.classFileWords(found) else {
            if optional {
                report.add(.notNeeded, call.location, call.description, "\(path) is not there and -o makes it optional: an empty list, as in Sendmail")
            } else {
                report.add(.notCarriedOver, call.location, call.description, "\(path) cannot be read: its names are not carried over")
            }
            return
        }
        switch call.name {
        case "MASQUERADE_DOMAIN_FILE": masqueradeDomains += names.map { ($0, call.location) }
        case "EXPOSED_USER_FILE": exposedUsers += names.map { ($0, call.location) }
        default: virtuserDomains += names.map { ($0, call.location) }
        }
        report.add(.differs, call.location, call.description,
            "the \(names.count) name\(names.count == 1 ? "" : "s") in \(found) are written into the configuration: a change to the file later needs a new import (or an edit of the list)")
    }

    private mutating func mailer(_ call: MCMacroCall) {
        if firstMailer == nil { firstMailer = call.location }
        let name = call.argument(0)
        switch name {
        case "local":
            // Reported with the [local] keys it becomes (translateDelivery).
            if localMailerLocation == nil { localMailerLocation = call.location }
        case "smtp":
            report.add(.notNeeded, call.location, call.description, "built in: SwiftMTA's smtp, esmtp, smtp8, dsmtp and relay mailers")
        case "cyrus", "cyrusv2":
            report.add(.notCarriedOver, call.location, call.description,
                "SwiftMTA has no \(name) mailer: deliver to Cyrus IMAP by LMTP instead, with a mailertable entry DOMAIN lmtp:unix:SOCKET (Cyrus's lmtp socket) or lmtp:[host] for the domain whose users are Cyrus's")
        default:
            report.add(.notCarriedOver, call.location, call.description, "SwiftMTA has no \(name) mailer: mail routed to it cannot be delivered")
        }
    }

    // MARK: - FEATURE

    private mutating func feature(_ call: MCMacroCall) {
        let name = call.argument(0)
        let here = call.location
        let shown = call.description
        if let first = firstMailer {
            report.add(.warning, here, shown, "FEATURE() after MAILER() (\(first)): Sendmail's m4 stops with an error here (\"FEATURE() should be before MAILER()\"); it is imported as if it came first")
        }
        switch name {
        case "virtusertable", "mailertable", "authinfo", "access_db":
            features[name] = call
        case "use_cw_file", "blacklist_recipients", "blocklist_recipients", "relay_based_on_MX", "delay_checks",
             "masquerade_envelope", "promiscuous_relay", "no_default_msa", "accept_unresolvable_domains",
             "accept_unqualified_senders":
            features[name] = call
        case "dnsbl":
            dnsblCalls.append(call)
        case "enhdnsbl":
            report.add(.notCarriedOver, here, shown,
                "SwiftMTA's DNSBL lookups take any A record as a listing; enhdnsbl's choice of result codes (\(call.argument(3).isEmpty ? "any" : call.argument(3))) is not carried over: use FEATURE(`dnsbl') semantics or a zone that lists only what you refuse")
            dnsblCalls.append(call)
        case "nouucp":
            report.add(.notNeeded, here, shown, "SwiftMTA has no UUCP, so ! addresses are never sent by UUCP")
        case "always_add_domain":
            report.add(.notNeeded, here, shown, "SwiftMTA qualifies local addresses with the host name (or masquerade_as) anyway")
        case "allmasquerade":
            report.add(.notCarriedOver, here, shown, "SwiftMTA masquerades sender addresses only, not recipient headers")
        case "masquerade_entire_domain":
            report.add(.notCarriedOver, here, shown, "SwiftMTA masquerades exactly the names in class w and masquerade_domains, not their subdomains: list the subdomains in routing.masquerade_domains")
        case "limited_masquerade":
            report.add(.notCarriedOver, here, shown, "SwiftMTA masquerades the names of class w as well as masquerade_domains; it cannot be limited to masquerade_domains")
        case "smrsh":
            report.add(.notNeeded, here, shown, "SwiftMTA runs no programs for .forward or aliases entries, so it needs no restricted shell")
        case "local_procmail":
            // Reported with the [local] keys (translateDelivery): procmail's ~/.procmailrc is not run.
            features[name] = call
            report.add(.carriedOver, here, shown, "procmail appended to /var/mail/USER: → [local] (mbox)")
        case "local_lmtp":
            features[name] = call
            let program = call.argument(1)
            if program.isEmpty || program.hasSuffix("/mail.local") {
                report.add(.notNeeded, here, shown, "mail.local by LMTP appended to /var/mail/USER; SwiftMTA's local mailer appends to the same mbox files itself ([local])")
            } else {
                report.add(.notCarriedOver, here, shown,
                    "the LMTP program \(program) is not run: SwiftMTA appends to /var/mail/USER itself; to deliver into a store's LMTP server instead, give the local domain a mailertable entry lmtp:unix:SOCKET")
            }
        case "nocanonify":
            report.add(.notNeeded, here, shown, "SwiftMTA does not canonify host names through DNS anyway")
        case "greet_pause":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no greeting pause (its limits are per listener: listen.max_connections_per_client)")
        case "conncontrol", "ratecontrol":
            report.add(.notCarriedOver, here, shown, "SwiftMTA limits connections per listener and per client (listen.max_connections, listen.max_connections_per_client), not by access-map rules")
        case "lookupdotdomain", "relay_entire_domain", "relay_hosts_only", "relay_local_from", "relay_mail_from",
             "loose_relay_check", "preserve_local_plus_detail", "virtuser_entire_domain", "stickyhost", "genericstable",
             "domaintable", "nullclient", "redirect", "ldap_routing", "badmx", "require_rdns", "block_bad_helo",
             "use_ct_file", "compat_check", "check_cert_altnames", "tls_session_features", "tls_failures", "sts",
             "msp", "bestmx_is_local", "uucpdomain", "bitdomain", "mtamark", "prefixmod", "notsticky", "bcc",
             "queuegroup", "use_client_ptr", "vnet", "drac", "rhsbl":
            report.add(.notCarriedOver, here, shown, "SwiftMTA has no equivalent of FEATURE(`\(name)')")
        default:
            report.add(.notCarriedOver, here, shown, "not a feature of Sendmail's cf library (no feature/\(name).m4): Sendmail's m4 stops here")
        }
    }
}
