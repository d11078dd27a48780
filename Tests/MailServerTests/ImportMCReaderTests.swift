import MailServer
import Testing

/// The m4 reader of `swiftmta import-mc` (``MCMacroProcessor``): m4's own rules as a .mc uses
/// them, checked against what GNU m4 does with the same text.
@Suite("import-mc: reading a .mc as m4 does")
struct ImportMCReaderTests {
    /// Reads `text` as `test.mc`, with `files` as the other files there are.
    static func read(_ text: String, files: [String: String] = [:], limits: MCLimits = MCLimits()) throws(MCMacroProcessor.Failure) -> MCMacroProcessor {
        var all = files
        all["test.mc"] = text
        let contents = all
        var processor = MCMacroProcessor(limits: limits, cfDirectory: "/nonexistent/cf") { path in
            guard let text = contents[path] else { return .failure(.init(location: nil, message: "cannot open \(path): No such file or directory")) }
            return .success(Array(text.utf8))
        }
        try processor.process(file: "test.mc")
        return processor
    }

    @Test("macro values as GNU m4 expands them", arguments: [
        // (the .mc text, the macro, its value at the end)
        ("define(`X', `a `b' c')dnl\n", "X", "a b c"),
        ("define(`A', `1')dnl a comment that dnl removes\n", "A", "1"),
        ("define(`HOST', `mx.$1')dnl\ndefine(`confDOMAIN_NAME', HOST(`example.org'))dnl\n", "confDOMAIN_NAME", "mx.example.org"),
        // The expansion is read again inside define's arguments: its commas separate them.
        ("define(`N', `$#:$2:$*')dnl\ndefine(`V', N(a, b , c))dnl\n", "V", "3:b :a"),
        ("define(`N', `$#:$2:$*')dnl\ndefine(`V', `N(a, b , c)')dnl\n", "V", "3:b :a,b ,c"),
        ("define(`A', ifelse(`x', `y', `no', `x', `x', `yes', `default'))dnl\n", "A", "yes"),
        ("define(`A', ifelse(`x', `y', `no', `default'))dnl\n", "A", "default"),
        ("ifdef(`UNDEFINED', `define(`B', `1')', `define(`B', `2')')dnl\n", "B", "2"),
        ("define(`N', eval(`2 * (3 + 4) >= 14 && !0'))dnl\n", "N", "1"),
        ("define(`N', eval(255, 16))dnl\n", "N", "ff"),
        ("define(`N', eval(`-7 / 2 + 1 << 3'))dnl\n", "N", "-16"),
        ("define(`L', `a')dnl\ndefine(`L', defn(`L')`,b')dnl\n", "L", "a,b"),
        ("define(`CERT_DIR', `MAIL_SETTINGS_DIR`'certs')dnl\ndefine(`C', `CERT_DIR/x.pem')dnl\n", "C", "/etc/mail/certs/x.pem"),
        ("define(`S', substr(`sendmail', 4, 4))dnl\n", "S", "mail"),
        ("define(`S', translit(`Hello', `a-z', `A-Z'))dnl\n", "S", "HELLO"),
        ("define(`S', lower(`MiXeD'))dnl\n", "S", "mixed"),
        ("define(`S', index(`abcdef', `cd')/len(`abc')/incr(41))dnl\n", "S", "2/3/42"),
        ("define(`P', `confPRIVACY_FLAGS')dnl\ndefine(`confPRIVACY_FLAGS',dnl\n`goaway')dnl\n", "confPRIVACY_FLAGS", "goaway"),
        ("# define(`Z', `1') in a comment is not read\ndefine(`Z', `2')dnl\n", "Z", "2"),
        ("pushdef(`P', `1')pushdef(`P', `2')popdef(`P')dnl\n", "P", "1"),
        ("define(`D', `dn')dnl\nifdef(`U', `', `define(`Q', `1')dnl')dnl\n", "Q", "1"),
        ("define(`W', `x')m4wrap(`define(`W', `wrapped')')dnl\n", "W", "wrapped"),
    ])
    func values(text: String, macro: String, value: String) throws {
        var processor = try Self.read(text)
        #expect(try processor.value(of: macro) == value)
        #expect(processor.diagnostics.isEmpty, "\(processor.diagnostics)")
    }

    @Test("the cf library's macros: each call with its arguments and its line")
    func calls() throws {
        let processor = try Self.read("""
            divert(-1)dnl
            FEATURE(`virtusertable', `hash -o /etc/mail/virtusertable')dnl
            FEATURE(
              `dnsbl',
              `zen.example', `"550 Rejected " $&{client_addr}')dnl
            MAILER_DEFINITIONS
            define(`M', `MASQUERADE_AS(`example.org')')dnl
            M
            MAILER(local)dnl

            """)
        let calls = processor.events.compactMap { event -> MCMacroCall? in
            if case .call(let call) = event { return call }
            return nil
        }
        #expect(calls.map(\.location.line) == [2, 3, 6, 8, 9])
        #expect(calls[0].arguments == ["virtusertable", "hash -o /etc/mail/virtusertable"])
        #expect(calls[1].arguments == ["dnsbl", "zen.example", "\"550 Rejected \" $&{client_addr}"])
        #expect(calls[2].name == "MAILER_DEFINITIONS" && !calls[2].parenthesized)
        #expect(calls[3].description == "MASQUERADE_AS(`example.org')")
        #expect(calls[4].arguments == ["local"])
    }

    @Test("what the import reports: unknown macros, raw cf lines, builtins it does not run", arguments: [
        ("divert(-1)dnl\nFOO_BAR(`x')dnl\n", MCMacroProcessor.Diagnostic.Kind.unknownMacro, 2, "FOO_BAR"),
        ("divert(-1)dnl\ndefine(`A', BAZ(1, 2))dnl\n", .unknownMacro, 2, "BAZ"),
        ("divert(0)dnl\n# a comment is fine\n\nKmymap hash /etc/mail/mymap\ndivert(-1)\nKhidden x\n", .rawText, 4, "Kmymap hash /etc/mail/mymap"),
        ("divert(-1)dnl\nLOCAL_RULESETS\nSLocal_check_rcpt\n", .rawText, 3, "SLocal_check_rcpt"),
        ("divert(-1)dnl\n\nchangequote([, ])dnl\n", .unsupported, 3, "changequote"),
        ("divert(-1)dnl\nesyscmd(`hostname')dnl\n", .unsupported, 2, "esyscmd"),
        ("divert(-1)dnl\ninclude(`/etc/mail/m4/site.m4')dnl\n", .missingInclude, 2, "include(`/etc/mail/m4/site.m4')"),
        ("divert(-1)dnl\ndefine(`N', eval(`1/0'))dnl\n", .evaluation, 2, "eval"),
    ])
    func diagnostics(text: String, kind: MCMacroProcessor.Diagnostic.Kind, line: Int, subject: String) throws {
        let processor = try Self.read(text)
        let found = try #require(processor.diagnostics.first, "no diagnostic for \(text)")
        #expect(found.kind == kind)
        #expect(found.location.line == line)
        #expect(found.subject == subject)
        #expect(processor.diagnostics.count == 1, "\(processor.diagnostics)")
    }

    @Test("includes: read where --maps puts them, with their own lines; Debian's standard ones when missing")
    func includes() throws {
        var processor = try Self.read("""
            divert(-1)dnl
            include(`site.m4')dnl
            include(`/etc/mail/tls/starttls.m4')dnl
            define(`AFTER', `yes')dnl

            """, files: ["site.m4": "dnl line 1\n\ndefine(`SITE', `here')dnl\n"])
        #expect(try processor.value(of: "SITE") == "here")
        #expect(try processor.value(of: "AFTER") == "yes")
        #expect(try processor.value(of: "confSERVER_KEY") == "/etc/mail/tls/sendmail-common.key")
        let defines = processor.events.compactMap { event -> MCLocation? in
            if case .define(let name, _, let location) = event, name == "SITE" { return location }
            return nil
        }
        #expect(defines == [MCLocation(file: "site.m4", line: 3)])
        #expect(processor.events.contains(.include(path: "/etc/mail/tls/starttls.m4", read: nil, location: MCLocation(file: "test.mc", line: 3))))
    }

    @Test("text m4 cannot read is an error naming the line, never a hang or unbounded memory", arguments: [
        ("divert(-1)dnl\n\nMASQUERADE_AS(`example.org)dnl\n", 3, "closing ' is missing"),
        ("divert(-1)dnl\nFEATURE(`access_db'\n", 2, "a ) is missing"),
        ("define(`a', `a a')a\n", 1, "nest more than"),
        ("define(`a', `a')a\n", 1, "more than 200000 macro expansions"),
        ("define(`x', `$@$@$@$@')define(`y', `x(x(x(x(x(x(x(x(x(x(1))))))))))')y\n", 1, "bytes"),
        ("include(`test.mc')\n", 1, "includes nest more than 8 deep"),
    ])
    func failures(text: String, line: Int, message: String) throws {
        var limits = MCLimits()
        limits.maximumArgumentSize = 1 << 30
        limits.maximumExpandedBytes = 1 << 20
        do {
            _ = try Self.read(text, limits: limits)
            Issue.record("\(text) was read")
        } catch {
            #expect(error.location?.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("eval: C's operators and precedence", arguments: [
        ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ** 10", 1024), ("10 % 4", 2), ("1 << 4 >> 2", 4), ("6 & 3 | 8 ^ 1", 11),
        ("!0 && 1 || 0", 1), ("528641 >= 527104", 1), ("3 < 2", 0), ("-(-5)", 5), ("~0", -1), ("0x1F + 010", 39),
    ])
    func eval(expression: String, value: Int) throws {
        var processor = try Self.read("define(`N', eval(`\(expression)'))dnl\n")
        #expect(try processor.value(of: "N") == String(value))
    }
}
