/// Reads a `sendmail.mc` as m4 reads it for Sendmail's cf library (`m4 sendmail.mc >
/// sendmail.cf`), and records what the cf library would have been asked: every call of one of its
/// macros (`FEATURE`, `MASQUERADE_AS`, `DAEMON_OPTIONS`, …), every `define`, every include, and
/// every line m4 would have copied into sendmail.cf as it is.
///
/// It is m4 as far as .mc files use it: quoting with `` ` `` and `'` (nested), `#` comments,
/// `dnl`, `divert`, `define`/`undefine`/`pushdef`/`popdef`/`defn`, `ifdef`, `ifelse`, `eval`,
/// `incr`/`decr`, `len`, `index`, `substr`, `translit`, `shift`, `include`/`sinclude`,
/// `errprint`, `m4wrap`, `m4exit`, `indir`, `__file__`/`__line__`, and `$1`…`$9`, `$#`, `$*`,
/// `$@` in macro bodies. What it does not do (`changequote` to other quotes, `changecom`,
/// `regexp`, `patsubst`, `format`) is reported with its line; `syscmd` and `esyscmd` are never
/// run. A name followed by `(` that is no macro is reported as an unknown macro, with its line,
/// and reading goes on.
///
/// Sendmail's own library files (cf.m4, cfhead.m4, proto.m4, the feature files) are not read:
/// the caller translates the calls into SwiftMTA's configuration instead. The Debian files a .mc
/// includes (`/etc/mail/tls/starttls.m4`, `/etc/mail/sasl/sasl.m4`, the `debian-mta` domain,
/// autoconf.m4) are read when present, and Debian's standard contents stand in when not.
package struct MCMacroProcessor {
    /// One thing the cf library would have been asked, in the order m4 met it.
    package enum Event: Hashable, Sendable {
        /// A call of one of the cf library's macros.
        case call(MCMacroCall)
        /// `define` (or `pushdef`) of a name, with its body as stored (not yet expanded).
        case define(name: String, body: String, location: MCLocation)
        /// `undefine` (or `popdef`) of a name.
        case undefine(name: String, location: MCLocation)
        /// A file was included (`path` as written, `read` the file actually read, or `nil` when
        /// Debian's standard contents stood in for a missing one).
        case include(path: String, read: String?, location: MCLocation)
    }

    /// Something the caller should report: an unknown macro, a line m4 would copy into
    /// sendmail.cf, a builtin this reader does not do, a missing include, an `errprint`.
    package struct Diagnostic: Hashable, Sendable {
        package enum Kind: Hashable, Sendable {
            case unknownMacro
            case rawText
            case unsupported
            case missingInclude
            case errprint
            case evaluation
        }

        package var kind: Kind
        package var location: MCLocation
        /// The macro name, or the line of text.
        package var subject: String
        package var message: String
    }

    /// A .mc that m4 itself could not read: a quoted string or an argument list that never
    /// ends, an expansion past ``MCLimits``, a file that cannot be read.
    package struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        package var location: MCLocation?
        package var message: String

        package init(location: MCLocation?, message: String) {
            self.location = location
            self.message = message
        }

        package var description: String {
            location.map { "\($0): \(message)" } ?? message
        }
    }

    /// The cf library's macros that a .mc calls: each call is recorded as an ``Event/call(_:)``
    /// and expands to nothing (the `LOCAL_…` and `MAILER_DEFINITIONS` sections switch the
    /// diversion as the library does, so that raw cf lines after them are seen).
    package static let sendmailMacros: Set<String> = [
        "OSTYPE", "DOMAIN", "FEATURE", "HACK", "MAILER", "VERSIONID", "SITECONFIG", "SITE",
        "MASQUERADE_AS", "MASQUERADE_DOMAIN", "MASQUERADE_DOMAIN_FILE", "MASQUERADE_EXCEPTION",
        "MASQUERADE_EXCEPTION_FILE", "EXPOSED_USER", "EXPOSED_USER_FILE", "LOCAL_USER", "LOCAL_USER_FILE",
        "LOCAL_DOMAIN", "RELAY_DOMAIN", "RELAY_DOMAIN_FILE", "VIRTUSER_DOMAIN", "VIRTUSER_DOMAIN_FILE",
        "GENERICS_DOMAIN", "GENERICS_DOMAIN_FILE", "CANONIFY_DOMAIN", "CANONIFY_DOMAIN_FILE",
        "LDAPROUTE_DOMAIN", "LDAPROUTE_DOMAIN_FILE", "LDAPROUTE_EQUIVALENT", "LDAPROUTE_EQUIVALENT_FILE",
        "TRUST_AUTH_MECH", "DAEMON_OPTIONS", "CLIENT_OPTIONS", "INPUT_MAIL_FILTER", "MAIL_FILTER",
        "QUEUE_GROUP", "MODIFY_MAILER_FLAGS", "UUCPSMTP", "CF_LEVEL",
        "MAILER_DEFINITIONS", "LOCAL_CONFIG", "LOCAL_RULESETS", "LOCAL_RULE_0", "LOCAL_RULE_1",
        "LOCAL_RULE_2", "LOCAL_RULE_3", "LOCAL_NET_CONFIG", "LOCAL_SRV_FEATURES", "LOCAL_TRY_TLS",
        "LOCAL_TLS_CLIENT", "LOCAL_TLS_RCPT", "LOCAL_TLS_SERVER", "LOCAL_TLS_CONN", "LOCAL_OMIT_DEFAULTS",
        "PUSHDIVERT", "POPDIVERT",
    ]

    /// The diversion each cf library section macro switches to (cfhead.m4).
    private static let sectionDiversions: [String: Int] = [
        "LOCAL_RULE_0": 3, "LOCAL_RULE_1": 4, "LOCAL_RULE_2": 4, "LOCAL_RULE_3": 2, "LOCAL_CONFIG": 6,
        "MAILER_DEFINITIONS": 7, "LOCAL_RULESETS": 9, "LOCAL_NET_CONFIG": 1, "LOCAL_SRV_FEATURES": 9,
        "LOCAL_TRY_TLS": 9, "LOCAL_TLS_CLIENT": 9, "LOCAL_TLS_RCPT": 9, "LOCAL_TLS_SERVER": 9, "LOCAL_TLS_CONN": 9,
    ]

    /// Reads a file: its bytes, or why not. The import passes one that finds a .mc's files
    /// under `--maps DIR`.
    package typealias FileReader = @Sendable (_ path: String) -> Result<[UInt8], Failure>

    /// Where the paths a .mc names are read from (`/etc/mail/tls/starttls.m4` under `--maps`).
    package typealias PathMapper = @Sendable (_ path: String) -> String

    // MARK: - State

    private enum Builtin: Hashable {
        case define, pushdef, undefine, popdef, defn, ifdef, ifelse, dnl, divert, divnum, undivert
        case include, sinclude, eval, incr, decr, len, index, substr, translit, errprint, m4exit
        case changequote, changecom, shift, m4wrap, file, line, indir, builtin
        case syscmd, esyscmd, unsupported

        /// Builtins m4 expands only when called with parentheses (GNU m4's "blind" macros).
        var isBlind: Bool {
            switch self {
            case .define, .pushdef, .undefine, .popdef, .defn, .ifdef, .ifelse, .include, .sinclude, .eval,
                 .incr, .decr, .len, .index, .substr, .translit, .errprint, .shift, .m4wrap, .indir,
                 .builtin, .syscmd, .esyscmd, .unsupported:
                true
            case .dnl, .divert, .divnum, .undivert, .m4exit, .changequote, .changecom, .file, .line:
                false
            }
        }
    }

    private enum Macro: Hashable {
        case builtin(Builtin)
        case user([UInt8])
        case sendmail
    }

    private struct Frame {
        var bytes: [UInt8]
        var index = 0
        var file: String
        var line: Int
        /// Whether newlines advance ``line`` (a file), or the text is an expansion that keeps
        /// the line of the call it came from.
        var countsLines: Bool
        var includeDepth: Int
        var nesting: Int
    }

    private enum Token {
        case name(String)
        case quoted([UInt8])
        case comment([UInt8])
        case byte(UInt8)
        case end
    }

    private let limits: MCLimits
    private let readFile: FileReader
    private let mapPath: PathMapper
    private let cfDirectory: String
    private var frames: [Frame] = []
    private var macros: [String: [Macro]] = [:]
    private var diversion = 0
    private var expansions = 0
    private var expandedBytes = 0
    private var wrapped: [(text: [UInt8], location: MCLocation)] = []
    private var captures: [[UInt8]] = []
    private var rawLine: [UInt8] = []
    private var rawLineLocation: MCLocation?
    private var stopped = false

    /// What was met, in order.
    package private(set) var events: [Event] = []
    /// What to report.
    package private(set) var diagnostics: [Diagnostic] = []

    /// A reader for one .mc. `cfDirectory` is Sendmail's cf library folder
    /// (`/usr/share/sendmail/cf`), whose `domain/` files `DOMAIN()` reads when present.
    package init(
        limits: MCLimits = MCLimits(), cfDirectory: String = "/usr/share/sendmail/cf",
        mapPath: @escaping PathMapper = { $0 }, readFile: @escaping FileReader
    ) {
        self.limits = limits
        self.readFile = readFile
        self.mapPath = mapPath
        self.cfDirectory = cfDirectory
        let builtins: [String: Builtin] = [
            "define": .define, "pushdef": .pushdef, "undefine": .undefine, "popdef": .popdef, "defn": .defn,
            "ifdef": .ifdef, "ifelse": .ifelse, "dnl": .dnl, "divert": .divert, "divnum": .divnum,
            "undivert": .undivert, "include": .include, "sinclude": .sinclude, "eval": .eval, "incr": .incr,
            "decr": .decr, "len": .len, "index": .index, "substr": .substr, "translit": .translit,
            "errprint": .errprint, "m4exit": .m4exit, "changequote": .changequote, "changecom": .changecom,
            "shift": .shift, "m4wrap": .m4wrap, "__file__": .file, "__line__": .line, "indir": .indir,
            "builtin": .builtin, "syscmd": .syscmd, "esyscmd": .esyscmd, "sysval": .unsupported,
            "format": .unsupported, "regexp": .unsupported, "patsubst": .unsupported, "maketemp": .unsupported,
            "mkstemp": .unsupported, "traceon": .unsupported, "traceoff": .unsupported, "dumpdef": .unsupported,
            "debugmode": .unsupported, "debugfile": .unsupported, "undivert_all": .unsupported,
        ]
        for (name, builtin) in builtins { macros[name] = [.builtin(builtin)] }
        for name in Self.sendmailMacros { macros[name] = [.sendmail] }
        // What cfhead.m4 defines before a .mc's own lines: the settings folder, the default map
        // type, the defaults of the options an import reads, and the case-folding helpers the
        // feature files use.
        for (name, body) in [
            ("MAIL_SETTINGS_DIR", "/etc/mail/"), ("DATABASE_MAP_TYPE", "hash"),
            ("ALIAS_FILE", "MAIL_SETTINGS_DIR`'aliases"), ("confCW_FILE", "MAIL_SETTINGS_DIR`'local-host-names"),
            ("confCR_FILE", "-o MAIL_SETTINGS_DIR`'relay-domains"), ("confSMTP_LOGIN_MSG", "$j Sendmail $v/$Z; $b"),
            ("confPRIVACY_FLAGS", "authwarnings"), ("confTO_QUEUERETURN", "5d"), ("confTO_QUEUEWARN", "4h"),
            ("lower", "translit(`$1', `ABCDEFGHIJKLMNOPQRSTUVWXYZ', `abcdefghijklmnopqrstuvwxyz')"),
            ("upper", "translit(`$1', `abcdefghijklmnopqrstuvwxyz', `ABCDEFGHIJKLMNOPQRSTUVWXYZ')"),
        ] {
            macros[name] = [.user(Array(body.utf8))]
        }
    }

    // MARK: - Running

    /// Reads `path` (as named on the command line; its text is read through the file reader
    /// without mapping) and everything it includes.
    ///
    /// - Throws: ``Failure`` when m4 itself would stop: a file that cannot be read, a quoted
    ///   string or argument list without its end, an expansion past ``MCLimits``.
    package mutating func process(file path: String) throws(Failure) {
        let bytes = try readFile(path).get()
        try checkSize(bytes, path: path, at: nil)
        frames.append(Frame(bytes: bytes, file: path, line: 1, countsLines: true, includeDepth: 0, nesting: 0))
        try run()
        while !stopped, !wrapped.isEmpty {
            let pending = wrapped
            wrapped = []
            for item in pending.reversed() { push(item.text, at: item.location, nesting: 0) }
            try run()
        }
        flushRawLine()
    }

    /// The text of `name` as the cf library would use it at the end of the .mc: the macro
    /// expanded with every definition as it stands then (`confCACERT_PATH` defined as
    /// `CERT_DIR` gives CERT_DIR's value); `nil` when it is not defined.
    package mutating func value(of name: String) throws(Failure) -> String? {
        guard case .user = macros[name]?.last else { return nil }
        return try expand(Array(name.utf8), at: MCLocation(file: "<\(name)>", line: 1))
    }

    /// Whether `name` is defined at the end of the .mc.
    package func isDefined(_ name: String) -> Bool {
        macros[name]?.last != nil
    }

    /// `text` expanded as m4 would expand it at the end of the .mc.
    package mutating func expand(_ text: [UInt8], at location: MCLocation) throws(Failure) -> String {
        let saved = frames
        frames = []
        captures.append([])
        push(text, at: location, nesting: 0)
        do {
            try run()
        } catch {
            frames = saved
            _ = captures.popLast()
            throw error
        }
        frames = saved
        return String(decoding: captures.popLast() ?? [], as: UTF8.self)
    }

    private mutating func run() throws(Failure) {
        while !stopped {
            let location = currentLocation
            let token = try readToken()
            switch token {
            case .end:
                return
            case .name(let name):
                if let text = try handle(name: name, at: location) { emit(text, at: location) }
            case .quoted(let bytes):
                emit(bytes, at: location)
            case .comment(let bytes):
                emitComment(bytes)
            case .byte(let byte):
                emit([byte], at: location)
            }
        }
    }

    /// A name read from the input: a macro call (its expansion pushed back to be read again,
    /// `nil` returned) or text (returned).
    private mutating func handle(name: String, at location: MCLocation) throws(Failure) -> [UInt8]? {
        guard let macro = macros[name]?.last else {
            if peekByte() == UInt8(ascii: "(") {
                nextByte()
                let arguments = try collectArguments(of: name, at: location)
                var shown = arguments.map { "`" + String(decoding: $0, as: UTF8.self) + "'" }.joined(separator: ", ")
                if shown.count > 200 { shown = String(shown.prefix(197)) + "..." }
                note(Diagnostic(kind: .unknownMacro, location: location, subject: name,
                    message: "\(name)(\(shown)) is not a macro of m4 or of Sendmail's cf library"))
                return nil
            }
            return Array(name.utf8)
        }
        if case .builtin(let builtin) = macro, builtin.isBlind, peekByte() != UInt8(ascii: "(") {
            return Array(name.utf8)
        }
        var arguments: [[UInt8]] = []
        var parenthesized = false
        if peekByte() == UInt8(ascii: "(") {
            nextByte()
            parenthesized = true
            arguments = try collectArguments(of: name, at: location)
        }
        expansions += 1
        if expansions > limits.maximumExpansions {
            throw Failure(location: location, message: "more than \(limits.maximumExpansions) macro expansions: a macro that expands to itself? (last: \(name))")
        }
        let nesting = (frames.last?.nesting ?? 0) + 1
        if nesting > limits.maximumNesting {
            throw Failure(location: location, message: "macro expansions nest more than \(limits.maximumNesting) deep: a macro that calls itself? (last: \(name))")
        }
        let result: [UInt8]
        switch macro {
        case .user(let body):
            result = Self.substitute(body, name: name, arguments: arguments)
        case .sendmail:
            result = sendmailCall(name, arguments: arguments, parenthesized: parenthesized, at: location)
        case .builtin(let builtin):
            result = try call(builtin, name: name, arguments: arguments, at: location)
        }
        expandedBytes += result.count
        if expandedBytes > limits.maximumExpandedBytes {
            throw Failure(location: location, message: "macro expansions of more than \(limits.maximumExpandedBytes) bytes in all: a macro that grows without end? (last: \(name))")
        }
        if !result.isEmpty { push(result, at: location, nesting: nesting) }
        return nil
    }

    /// The most diagnostics kept (a .mc of a few hundred lines has a few); past it, one says so.
    static let maximumDiagnostics = 10_000

    private mutating func note(_ diagnostic: Diagnostic) {
        if diagnostics.count < Self.maximumDiagnostics {
            diagnostics.append(diagnostic)
        } else if diagnostics.count == Self.maximumDiagnostics {
            diagnostics.append(Diagnostic(kind: .evaluation, location: diagnostic.location, subject: "…",
                message: "more than \(Self.maximumDiagnostics) problems: the rest are not listed"))
        }
    }

    // MARK: - Input

    private var currentLocation: MCLocation {
        for frame in frames.reversed() where frame.index < frame.bytes.count {
            return MCLocation(file: frame.file, line: frame.line)
        }
        return frames.last.map { MCLocation(file: $0.file, line: $0.line) } ?? MCLocation(file: "<end>", line: 0)
    }

    private mutating func peekByte() -> UInt8? {
        while let top = frames.last {
            if top.index < top.bytes.count { return top.bytes[top.index] }
            frames.removeLast()
        }
        return nil
    }

    @discardableResult
    private mutating func nextByte() -> UInt8? {
        guard let byte = peekByte() else { return nil }
        let last = frames.count - 1
        frames[last].index += 1
        if byte == UInt8(ascii: "\n"), frames[last].countsLines { frames[last].line += 1 }
        return byte
    }

    private mutating func push(_ text: [UInt8], at location: MCLocation, nesting: Int) {
        _ = peekByte()  // drop exhausted frames first, so that a loop does not grow the stack
        let depth = frames.last?.includeDepth ?? 0
        frames.append(Frame(bytes: text, file: location.file, line: location.line, countsLines: false, includeDepth: depth, nesting: nesting))
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= 0x30 && byte <= 0x39)
    }

    private mutating func readToken() throws(Failure) -> Token {
        let location = currentLocation
        guard let byte = nextByte() else { return .end }
        switch byte {
        case UInt8(ascii: "`"):
            var depth = 1
            var body: [UInt8] = []
            while true {
                guard let next = nextByte() else {
                    throw Failure(location: location, message: "end of file in a string quoted with ` here: the closing ' is missing")
                }
                if next == UInt8(ascii: "`") {
                    depth += 1
                } else if next == UInt8(ascii: "'") {
                    depth -= 1
                    if depth == 0 { return .quoted(body) }
                }
                body.append(next)
                if body.count > limits.maximumArgumentSize {
                    throw Failure(location: location, message: "a quoted string longer than \(limits.maximumArgumentSize) bytes")
                }
            }
        case UInt8(ascii: "#"):
            var text: [UInt8] = [byte]
            while let next = nextByte() {
                text.append(next)
                if next == UInt8(ascii: "\n") { break }
            }
            return .comment(text)
        default:
            guard Self.isNameStart(byte) else { return .byte(byte) }
            // A name ends where its input does: m4 does not join the end of an expansion and
            // the text after it into one name (`dnl' then dnl stays two).
            var name: [UInt8] = [byte]
            while let top = frames.last, top.index < top.bytes.count, Self.isNameByte(top.bytes[top.index]) {
                name.append(top.bytes[top.index])
                nextByte()
            }
            return .name(String(decoding: name, as: UTF8.self))
        }
    }

    /// The arguments of a call, after its `(`: each with leading white space dropped, one
    /// level of quotes removed, macros in it expanded, up to the `)` that closes the list.
    private mutating func collectArguments(of name: String, at location: MCLocation) throws(Failure) -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        var current: [UInt8] = []
        var depth = 0
        var atStart = true
        while true {
            if atStart {
                while let next = peekByte(), next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D { nextByte() }
                atStart = false
            }
            let tokenLocation = currentLocation
            let token = try readToken()
            switch token {
            case .end:
                throw Failure(location: location, message: "end of file in the argument list of \(name) opened here: a ) is missing")
            case .name(let inner):
                if let text = try handle(name: inner, at: tokenLocation) { current += text }
            case .quoted(let bytes):
                current += bytes
            case .comment(let bytes):
                current += bytes
            case .byte(let byte):
                switch byte {
                case UInt8(ascii: "("):
                    depth += 1
                    current.append(byte)
                case UInt8(ascii: ")") where depth == 0:
                    arguments.append(current)
                    return arguments
                case UInt8(ascii: ")"):
                    depth -= 1
                    current.append(byte)
                case UInt8(ascii: ",") where depth == 0:
                    arguments.append(current)
                    current = []
                    atStart = true
                default:
                    current.append(byte)
                }
            }
            if current.count > limits.maximumArgumentSize {
                throw Failure(location: location, message: "an argument of \(name) longer than \(limits.maximumArgumentSize) bytes")
            }
        }
    }

    // MARK: - Output

    private mutating func emit(_ bytes: [UInt8], at location: MCLocation) {
        if !captures.isEmpty {
            captures[captures.count - 1] += bytes
            return
        }
        guard diversion >= 0 else { return }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                flushRawLine()
            } else {
                if rawLineLocation == nil, byte != 0x20, byte != 0x09, byte != 0x0D { rawLineLocation = location }
                rawLine.append(byte)
            }
        }
    }

    private mutating func emitComment(_ bytes: [UInt8]) {
        if !captures.isEmpty { captures[captures.count - 1] += bytes }
        // A comment in the output is a comment in sendmail.cf: nothing to carry over.
        if bytes.last == UInt8(ascii: "\n") { flushRawLine() }
    }

    private mutating func flushRawLine() {
        defer {
            rawLine = []
            rawLineLocation = nil
        }
        guard let location = rawLineLocation else { return }
        let text = String(decoding: rawLine, as: UTF8.self).mcTrimmed
        guard !text.isEmpty else { return }
        note(Diagnostic(
            kind: .rawText, location: location, subject: text,
            message: "text m4 copies into sendmail.cf as it is (a raw cf line)"))
    }

    // MARK: - Macros

    /// A user macro's body with `$0`…`$9`, `$#`, `$*` and `$@` replaced.
    private static func substitute(_ body: [UInt8], name: String, arguments: [[UInt8]]) -> [UInt8] {
        guard body.contains(UInt8(ascii: "$")) else { return body }
        var result: [UInt8] = []
        result.reserveCapacity(body.count)
        var index = 0
        while index < body.count {
            let byte = body[index]
            guard byte == UInt8(ascii: "$"), index + 1 < body.count else {
                result.append(byte)
                index += 1
                continue
            }
            let next = body[index + 1]
            switch next {
            case UInt8(ascii: "0"):
                result += Array(name.utf8)
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                let position = Int(next - UInt8(ascii: "0"))
                if position <= arguments.count { result += arguments[position - 1] }
            case UInt8(ascii: "#"):
                result += Array(String(arguments.count).utf8)
            case UInt8(ascii: "*"):
                result += Array(arguments.joined(separator: [UInt8(ascii: ",")]))
            case UInt8(ascii: "@"):
                result += Array(arguments.map { [UInt8(ascii: "`")] + $0 + [UInt8(ascii: "'")] }.joined(separator: [UInt8(ascii: ",")]))
            default:
                result.append(byte)
                index += 1
                continue
            }
            index += 2
        }
        return result
    }

    private static func quoted(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(ascii: "`")] + bytes + [UInt8(ascii: "'")]
    }

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private mutating func call(_ builtin: Builtin, name: String, arguments: [[UInt8]], at location: MCLocation) throws(Failure) -> [UInt8] {
        func argument(_ index: Int) -> [UInt8] { index < arguments.count ? arguments[index] : [] }
        switch builtin {
        case .define, .pushdef:
            let defined = Self.text(argument(0))
            guard !defined.isEmpty else { return [] }
            let body = argument(1)
            if builtin == .define, macros[defined] != nil {
                macros[defined]![macros[defined]!.count - 1] = .user(body)
            } else {
                macros[defined, default: []].append(.user(body))
            }
            events.append(.define(name: defined, body: Self.text(body), location: location))
            return []
        case .undefine, .popdef:
            for item in arguments {
                let undefined = Self.text(item)
                if builtin == .undefine || (macros[undefined]?.count ?? 0) <= 1 {
                    macros[undefined] = nil
                } else {
                    macros[undefined]?.removeLast()
                }
                events.append(.undefine(name: undefined, location: location))
            }
            return []
        case .defn:
            var result: [UInt8] = []
            for item in arguments {
                switch macros[Self.text(item)]?.last {
                case .user(let body): result += Self.quoted(body)
                case .builtin, .sendmail:
                    note(Diagnostic(kind: .unsupported, location: location, subject: "defn",
                        message: "defn(`\(Self.text(item))') of a builtin macro is not supported; it gives nothing here"))
                case nil: break
                }
            }
            return result
        case .ifdef:
            return macros[Self.text(argument(0))]?.last != nil ? argument(1) : argument(2)
        case .ifelse:
            var rest = arguments[...]
            while rest.count >= 3 {
                let first = rest[rest.startIndex], second = rest[rest.startIndex + 1]
                if first == second { return rest[rest.startIndex + 2] }
                rest = rest.dropFirst(3)
            }
            return rest.count == 1 ? rest[rest.startIndex] : []
        case .dnl:
            while let byte = nextByte(), byte != UInt8(ascii: "\n") {}
            return []
        case .divert:
            let number = Int(Self.text(argument(0)).mcTrimmed) ?? 0
            flushRawLine()
            diversion = number
            return []
        case .divnum:
            return Array(String(diversion).utf8)
        case .undivert:
            return []
        case .include, .sinclude:
            try include(Self.text(argument(0)), silent: builtin == .sinclude, at: location)
            return []
        case .eval:
            do {
                var parser = MCExpression(Self.text(argument(0)))
                let value = try parser.evaluate()
                let radix = Int(Self.text(argument(1)).mcTrimmed) ?? 10
                guard (2...36).contains(radix) else {
                    note(Diagnostic(kind: .evaluation, location: location, subject: "eval", message: "eval: radix \(radix) is not 2 to 36"))
                    return []
                }
                var digits = String(value.magnitude, radix: radix)
                let width = Int(Self.text(argument(2)).mcTrimmed) ?? 1
                if digits.count < width { digits = String(repeating: "0", count: min(width, 64) - digits.count) + digits }
                return Array(((value < 0 ? "-" : "") + digits).utf8)
            } catch {
                note(Diagnostic(kind: .evaluation, location: location, subject: "eval",
                    message: "eval(`\(Self.text(argument(0)))'): \(error.message)"))
                return []
            }
        case .incr, .decr:
            guard let value = Int(Self.text(argument(0)).mcTrimmed) else {
                note(Diagnostic(kind: .evaluation, location: location, subject: name,
                    message: "\(name)(`\(Self.text(argument(0)))'): not a number"))
                return []
            }
            return Array(String(builtin == .incr ? value &+ 1 : value &- 1).utf8)
        case .len:
            return Array(String(argument(0).count).utf8)
        case .index:
            let haystack = argument(0), needle = argument(1)
            guard !needle.isEmpty else { return Array("0".utf8) }
            if haystack.count >= needle.count {
                for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
                    return Array(String(start).utf8)
                }
            }
            return Array("-1".utf8)
        case .substr:
            let string = argument(0)
            guard var start = Int(Self.text(argument(1)).mcTrimmed) else { return string }
            start = max(0, min(start, string.count))
            var end = string.count
            if arguments.count > 2, let length = Int(Self.text(argument(2)).mcTrimmed) {
                end = max(start, min(string.count, start + max(0, length)))
            }
            return Array(string[start..<end])
        case .translit:
            return Self.transliterate(argument(0), from: Self.expandRanges(argument(1)), to: Self.expandRanges(argument(2)))
        case .errprint:
            let message = arguments.map(Self.text).joined(separator: " ").mcTrimmed
            note(Diagnostic(kind: .errprint, location: location, subject: "errprint", message: message))
            return []
        case .m4exit:
            stopped = true
            frames = []
            return []
        case .changequote:
            let wanted = arguments.map(Self.text)
            if !(wanted.isEmpty || wanted == [""] || wanted == ["`", "'"]) {
                note(Diagnostic(kind: .unsupported, location: location, subject: "changequote",
                    message: "changequote(\(wanted.joined(separator: ", "))): only ` and ' are read as quotes here; the lines after this may be misread"))
            }
            return []
        case .changecom:
            note(Diagnostic(kind: .unsupported, location: location, subject: "changecom",
                message: "changecom: only # starts a comment here; the lines after this may be misread"))
            return []
        case .shift:
            return Array(arguments.dropFirst().map(Self.quoted).joined(separator: [UInt8(ascii: ",")]))
        case .m4wrap:
            wrapped.append((arguments.joined(separator: [UInt8(ascii: ",")]).map { $0 }, location))
            return []
        case .file:
            return Self.quoted(Array(location.file.utf8))
        case .line:
            return Array(String(location.line).utf8)
        case .indir, .builtin:
            let target = Self.text(argument(0))
            let rest = Array(arguments.dropFirst())
            switch macros[target]?.last {
            case .user(let body) where builtin == .indir:
                return Self.substitute(body, name: target, arguments: rest)
            case .builtin(let inner):
                return try call(inner, name: target, arguments: rest, at: location)
            case .sendmail where builtin == .indir:
                return sendmailCall(target, arguments: rest, parenthesized: true, at: location)
            case .user, .sendmail, nil:
                note(Diagnostic(kind: .evaluation, location: location, subject: name,
                    message: "\(name)(`\(target)'): no such \(builtin == .indir ? "macro" : "builtin")"))
                return []
            }
        case .syscmd, .esyscmd:
            note(Diagnostic(kind: .unsupported, location: location, subject: name,
                message: "\(name)(`\(Self.text(argument(0)))'): an import runs no commands; its output is missing here"))
            return []
        case .unsupported:
            note(Diagnostic(kind: .unsupported, location: location, subject: name,
                message: "\(name) is an m4 builtin this import does not evaluate; it gives nothing here"))
            return []
        }
    }

    private static func expandRanges(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                let low = bytes[index], high = bytes[index + 2]
                if low <= high { result += Array(low...high) } else { result += Array((high...low).reversed()) }
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    private static func transliterate(_ bytes: [UInt8], from: [UInt8], to: [UInt8]) -> [UInt8] {
        var table: [UInt8: UInt8?] = [:]
        for (position, byte) in from.enumerated() where table[byte] == nil {
            table[byte] = position < to.count ? to[position] : nil
        }
        return bytes.compactMap { byte in
            guard let mapped = table[byte] else { return byte }
            return mapped
        }
    }

    private mutating func sendmailCall(_ name: String, arguments: [[UInt8]], parenthesized: Bool, at location: MCLocation) -> [UInt8] {
        let texts = arguments.map(Self.text)
        events.append(.call(MCMacroCall(name: name, arguments: texts, location: location, parenthesized: parenthesized)))
        if let section = Self.sectionDiversions[name] {
            flushRawLine()
            diversion = section
        }
        if name == "DOMAIN" {
            return domain(texts.first ?? "", at: location)
        }
        return []
    }

    /// `DOMAIN(name)`: the cf library's `domain/NAME.m4`, read with its output discarded as the
    /// library does; Debian's `debian-mta` as Debian ships it when the file is not there.
    private mutating func domain(_ name: String, at location: MCLocation) -> [UInt8] {
        let path = "\(cfDirectory)/domain/\(name).m4"
        // As the library's PUSHDIVERT(-1) … POPDIVERT: the file's own output is discarded.
        let restore = Array("divert(\(diversion))".utf8)
        if case .success = readFile(path) {
            return Array("divert(-1)include(`".utf8) + Array(path.utf8) + Array("')".utf8) + restore
        }
        if let text = MCStandardFiles.domain(name) {
            events.append(.include(path: path, read: nil, location: location))
            return Array("divert(-1)".utf8) + Array(text.utf8) + restore
        }
        note(Diagnostic(kind: .missingInclude, location: location, subject: "DOMAIN(`\(name)')",
            message: "\(path) is not there: the settings of that domain file are not carried over"))
        return []
    }

    private mutating func include(_ written: String, silent: Bool, at location: MCLocation) throws(Failure) {
        let path = written.mcTrimmed
        // Sendmail's cf library itself: its macros are what this reader records.
        if path == "cf.m4" || path.hasSuffix("/m4/cf.m4") {
            events.append(.include(path: path, read: nil, location: location))
            flushRawLine()
            diversion = 0
            return
        }
        // Debian's record of how its Sendmail was built (sm_version, sm_enable_tls, …): defined
        // as Debian's 8.17 has it, without reading the file or reporting its lines.
        if path.hasSuffix("/cf/debian/autoconf.m4") {
            events.append(.include(path: path, read: nil, location: location))
            for (name, body) in MCStandardFiles.autoconf { macros[name] = [.user(Array(body.utf8))] }
            return
        }
        let depth = (frames.last?.includeDepth ?? 0) + 1
        guard depth <= limits.maximumIncludeDepth else {
            throw Failure(location: location, message: "includes nest more than \(limits.maximumIncludeDepth) deep (\(path))")
        }
        let mapped = path.hasPrefix(cfDirectory + "/") ? path : mapPath(path)
        switch readFile(mapped) {
        case .success(let bytes):
            try checkSize(bytes, path: mapped, at: location)
            events.append(.include(path: path, read: mapped, location: location))
            _ = peekByte()
            frames.append(Frame(bytes: bytes, file: mapped, line: 1, countsLines: true, includeDepth: depth, nesting: frames.last?.nesting ?? 0))
        case .failure(let failure):
            if let standard = MCStandardFiles.include(path) {
                events.append(.include(path: path, read: nil, location: location))
                push(Array(standard.utf8), at: location, nesting: frames.last?.nesting ?? 0)
            } else if !silent {
                events.append(.include(path: path, read: nil, location: location))
                note(Diagnostic(kind: .missingInclude, location: location, subject: "include(`\(path)')",
                    message: "\(failure.message): the lines of that file are not carried over"))
            }
        }
    }

    private func checkSize(_ bytes: [UInt8], path: String, at location: MCLocation?) throws(Failure) {
        if bytes.count > limits.maximumFileSize {
            throw Failure(location: location, message: "\(path) is larger than \(limits.maximumFileSize) bytes; a .mc is a few kilobytes")
        }
    }
}
