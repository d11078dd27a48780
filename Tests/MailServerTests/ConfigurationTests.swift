import MailRouting
import MailServer
import Testing
import TestSupport

@Suite("The configuration file")
struct ConfigurationTests {
    /// DESIGN.md's example, whole.
    static let designExample = """
        hostname = "mx.real-time.com"                       # $j, confDOMAIN_NAME
        local_host_names = "text:/etc/mail/local-host-names" # class w, FEATURE(use_cw_file)
        virtuser_domains = ["virt.example"]                  # VIRTUSER_DOMAIN
        relay_domains = "text:/etc/mail/relay-domains"       # class R
        local_users = "passwd"                               # who exists locally

        [maps]
        virtusertable = "hash:/etc/mail/virtusertable"
        access = "hash:/etc/mail/access"                     # FEATURE(access_db)
        mailertable = "hash:/etc/mail/mailertable"
        authinfo = "hash:/etc/mail/authinfo"                 # FEATURE(authinfo)
        aliases = "text:/etc/mail/aliases"

        [routing]
        smart_host = "relay:[mailhost.somedom.com]"          # SMART_HOST
        relay_mailer = "esmtp"                               # RELAY_MAILER
        relay_mailer_port = 587                              # RELAY_MAILER_ARGS `TCP $h 587`
        masquerade_as = "real-time.com"                      # MASQUERADE_AS
        masquerade_envelope = true                           # FEATURE(masquerade_envelope)
        masquerade_domains = []                              # MASQUERADE_DOMAIN
        exposed_users = ["root"]                             # EXPOSED_USER

        [relay]
        relay_based_on_mx = false                            # FEATURE(relay_based_on_MX)
        blacklist_recipients = true                          # FEATURE(blacklist_recipients)
        delay_checks = true                                  # FEATURE(delay_checks)
        dnsbl = [{ zone = "zen.example", message = "Rejected - see ${client_addr}" }]

        [auth]
        mechanisms = ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"]   # confAUTH_MECHANISMS
        trusted_mechanisms = ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"]  # TRUST_AUTH_MECH
        options = ["p"]                                      # confAUTH_OPTIONS
        backend = "cyrus"                                    # or "passwd:/etc/swiftmta/passwd"

        [tls]
        certificate = "/etc/mail/certs/sendmail.crt"         # confSERVER_CERT
        key = "/etc/mail/certs/sendmail.key"                 # confSERVER_KEY
        ca_path = "/etc/mail/certs"                          # confCACERT_PATH
        client_certificate = "/etc/mail/certs/sendmail.crt"  # confCLIENT_CERT
        client_key = "/etc/mail/certs/sendmail.key"          # confCLIENT_KEY

        [smtp]
        greeting = "$j server ready at $b"                   # confSMTP_LOGIN_MSG
        privacy = ["goaway"]                                 # confPRIVACY_FLAGS
        help_file = "/etc/mail/helpfile"                     # HELP_FILE

        [[listen]]
        address = "0.0.0.0:25"
        mode = "smtp"                                        # smtp | submission | smtps | lmtp

        """

    @Test("DESIGN.md's example reads into the policy it describes")
    func designExample() throws {
        let configuration = try SwiftMTAConfiguration.parse(Self.designExample, file: "design.toml")
        #expect(configuration.routing.hostname == "mx.real-time.com")
        #expect(configuration.routing.virtualDomains == ["virt.example"])
        #expect(configuration.routing.smartHost == "relay:[mailhost.somedom.com]")
        #expect(configuration.routing.mailers[.relay]?.port == 587)
        #expect(configuration.routing.masqueradeAs == "real-time.com")
        #expect(configuration.routing.masqueradeEnvelope)
        #expect(configuration.routing.exposedUsers == ["root"])
        #expect(configuration.routing.blacklistRecipients)
        #expect(configuration.routing.delayChecks)
        #expect(configuration.routing.dnsbl == [DNSBLZone(zone: "zen.example", message: "Rejected - see ${client_addr}")])
        #expect(configuration.routing.trustedMechanisms == ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"])
        #expect(configuration.tables.access == "hash:/etc/mail/access")
        #expect(configuration.tables.localHostNames == "text:/etc/mail/local-host-names")
        #expect(configuration.listeners == [ServerConfiguration.Listener(host: "0.0.0.0", port: 25, mode: .smtp)])
        #expect(configuration.smtp.privacy == ["goaway"])
        #expect(configuration.tls.key == "/etc/mail/certs/sendmail.key")
    }

    @Test("errors name the file, the key and the line", arguments: [
        ("hostname = \"a\"\nsmart_host = \"x\"\n", "smart_host", 2, "unknown key"),
        ("[routing]\nsmart_hots = \"relay:[x]\"\n", "routing.smart_hots", 2, "did you mean smart_host?"),
        ("[routing]\nrelay_mailer_port = \"587\"\n", "routing.relay_mailer_port", 2, "must be an integer"),
        ("[routing]\nrelay_mailer_port = 70000\n", "routing.relay_mailer_port", 2, "between 1 and 65535"),
        ("[routing]\nrelay_mailer = \"uucp\"\n", "routing.relay_mailer", 2, "must be esmtp"),
        ("[maps]\naccess = \"/etc/mail/access\"\n", "maps.access", 2, "type:name"),
        ("\n\n[relay]\ndelay_checks = \"yes\"\n", "relay.delay_checks", 4, "true or false"),
        ("[relay]\ndnsbl = [{ message = \"x\" }]\n", "relay.dnsbl[0].zone", 2, "is required"),
        ("[auth]\nmechanisms = [\"PLAIN\"]\ntrusted_mechanisms = [\"LOGIN\"]\n", "auth.trusted_mechanisms", 3, "not in auth.mechanisms"),
        ("[[listen]]\naddress = \"localhost\"\n", "listen[0].address", 2, "host:port"),
        ("[[listen]]\naddress = \"127.0.0.1:25\"\n[[listen]]\naddress = \"127.0.0.1:587\"\nmode = \"smtpx\"\n", "listen[1].mode", 5, "must be smtp"),
        ("[dns]\nnameservers = [\"not an address\"]\n", "dns.nameservers[0]", 2, "not a numeric"),
        ("[tls]\ncertificate = \"/x.crt\"\n", "tls", 1, "go together"),
    ] as [(String, String, Int, String)])
    func errors(text: String, key: String, line: Int, message: String) {
        let error = #expect(throws: ConfigurationError.self) { try SwiftMTAConfiguration.parse(text, file: "bad.toml") }
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("bad.toml:\(line): \(key): ") == true, "\(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test("a TOML syntax error names its line")
    func syntax() {
        let error = #expect(throws: ConfigurationError.self) {
            try SwiftMTAConfiguration.parse("hostname = \"a\"\n[routing\nx = 1\n", file: "broken.toml")
        }
        #expect(error?.line == 2)
        #expect(error?.key == nil)
        #expect(error?.description.hasPrefix("broken.toml:2: TOML syntax") == true)
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        let error = #expect(throws: ConfigurationError.self) { try SwiftMTAConfiguration.load(path: "/nonexistent/swiftmta.toml") }
        #expect(error?.description == "/nonexistent/swiftmta.toml: cannot open: No such file or directory")
    }
}

extension ConfigurationTests {
    @Test("characters TOML allows only in strings and comments are a syntax error with its line, not a parser crash", arguments: [
        ("[[l\u{FFFD}sten]]\naddress = \"127.0.0.1:25\"\n", 1),
        ("hostname = \"mx.example.test\"\n\n[smtp]\ngr\u{E9}eting = \"x\"\n", 4),
        ("hostname = \"a\u{0}b\"\n", 1),
        ("hostname = \"unclosed\n", 1),
    ] as [(String, Int)])
    func lexicalProblems(text: String, line: Int) {
        let error = #expect(throws: ConfigurationError.self) { try SwiftMTAConfiguration.parse(text, file: "odd.toml") }
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("TOML syntax: ") == true, "\(String(describing: error))")
    }

    @Test("non-ASCII text in strings and comments is fine")
    func unicodeInStrings() throws {
        let configuration = try SwiftMTAConfiguration.parse("# Grüße\n[smtp]\ngreeting = \"$j prêt à servir\"\n", file: "ok.toml")
        #expect(configuration.smtp.greeting == "$j prêt à servir")
    }
}

extension ConfigurationTests {
    @Test("punctuation TOML has only in strings, in a table header, is a syntax error with its line")
    func punctuationInHeader() {
        let error = #expect(throws: ConfigurationError.self) { try SwiftMTAConfiguration.parse("\n[`uth]\nx = 1\n", file: "odd.toml") }
        #expect(error?.line == 2, "\(String(describing: error))")
    }
}

extension ConfigurationTests {
    @Test("TOML's whole syntax passes the shape check: multi-line arrays with comments, quoted and dotted keys, literal and multi-line strings, inline tables, numbers with underscores, CRLF")
    func fullSyntax() throws {
        let text = """
            hostname = "mx.example.test"   # the name
            virtuser_domains = [
              "a.example",  # one
              'b.example',
            ]
            auth.options = ['p']
            [ smtp ]
            greeting = \"\"\"$j ready\"\"\"
            "privacy" = [ 'goaway' ]
            max_message_size = 1_048_576
            command_timeout = 300
            help_file = '''/etc/mail/helpfile'''
            [relay]
            dnsbl = [ { zone = "z.example", message = 'Rejected ${client_addr}' }, {zone="y.example"} ]\r
            [[listen]]
            address = "127.0.0.1:25"

            """
        let configuration = try SwiftMTAConfiguration.parse(text, file: "full.toml")
        #expect(configuration.routing.virtualDomains == ["a.example", "b.example"])
        #expect(configuration.smtp.greeting == "$j ready")
        #expect(configuration.smtp.privacy == ["goaway"])
        #expect(configuration.smtp.maximumMessageSize == 1_048_576)
        #expect(configuration.routing.dnsbl.map(\.zone) == ["z.example", "y.example"])
        #expect(configuration.authentication.options == ["p"])
    }
}
