#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns a `sendmail.mc` and its maps into a SwiftMTA configuration that behaves as that
/// Sendmail did, and an ``ImportReport`` of every line carried over (and where to), every line
/// not carried over (and why), every behaviour that differs, and what is known to be wrong today.
///
/// The .mc is read as m4 reads it (``MCMacroProcessor``); the calls of Sendmail's cf library it
/// makes are translated here one by one, in Sendmail's own terms: a `FEATURE(`virtusertable',
/// `hash -o /etc/mail/virtusertable')` becomes `maps.virtusertable = "hash:-o
/// /etc/mail/virtusertable"`, pointing at the same map files (the makemap-built `.db` when it
/// is there, else the text).
///
/// Where Sendmail trusts what SwiftMTA does not by default — clients at 127.0.0.1 and ::1 relay
/// in Sendmail (its Relay_ok, "originated locally") — the import says so explicitly: it writes an
/// access text map beside the configuration with `Connect:127.0.0.1 RELAY`, searched before the
/// .mc's own access map, and the report says why.
package struct SendmailMCImporter {
    /// What to import and where it goes.
    package struct Options: Sendable {
        /// The .mc as named on the command line.
        package var mcFile: String
        /// Where the .mc's files are, when not where it names them (`/etc/mail/X` is looked for
        /// as `DIR/X`, then `DIR/` + its last component).
        package var mapsDirectory: String?
        /// The configuration's path (absolute); files written beside it are named relative to it.
        package var configurationFile: String
        /// `$j` when the .mc does not set confDOMAIN_NAME and the import runs elsewhere.
        package var hostname: String?
        /// Sendmail's cf library folder (for `DOMAIN()` files and its list of options).
        package var cfDirectory = "/usr/share/sendmail/cf"
        package var limits = MCLimits()

        package init(mcFile: String, mapsDirectory: String? = nil, configurationFile: String, hostname: String? = nil) {
            self.mcFile = mcFile
            self.mapsDirectory = mapsDirectory
            self.configurationFile = configurationFile
            self.hostname = hostname
        }
    }

    /// What the import made.
    package struct Output {
        /// The configuration's text.
        package var configuration: String
        /// Files to write beside it: name and text.
        package var files: [(name: String, text: String)]
        package var report: ImportReport
    }

    /// The access text map written beside the configuration.
    package static let accessFileName = "imported-access"

    let options: Options
    var processor: MCMacroProcessor
    var report = ImportReport()
    var config = ImportedConfiguration()

    // What the .mc's calls collect, for the keys made at the end.
    var features: [String: MCMacroCall] = [:]
    var dnsblCalls: [MCMacroCall] = []
    var daemonCalls: [MCMacroCall] = []
    var masqueradeAs: MCMacroCall?
    var masqueradeDomains: [(String, MCLocation)] = []
    var exposedUsers: [(String, MCLocation)] = []
    var localNames: [(String, MCLocation)] = []
    var virtuserDomains: [(String, MCLocation)] = []
    var relayDomainNames: [(String, MCLocation)] = []
    var relayDomainFiles: [(String, MCLocation)] = []
    var trustedMechanisms: [(String, MCLocation)] = []
    var localUserCalls: [MCMacroCall] = []
    /// Each call as written, by where it is (for naming list macros in the report).
    var callsByLocation: [MCLocation: [String]] = [:]
    var firstMailer: MCLocation?
    /// Where each name was defined by the .mc or a file it read, in order.
    var definitions: [String: [MCLocation]] = [:]
    /// The body of each of those definitions, as written.
    var definitionBodies: [String: [String]] = [:]
    var definitionOrder: [String] = []
    /// Access entries the import adds (written to ``accessFileName``), with why.
    var addedAccess: [(key: String, value: String)] = []
    /// Whether Sendmail ran an SMTP daemon (Debian's DAEMON_MODE).
    var listenersRun = true
    /// Whether TLS is usable as imported (a smtps listener needs it).
    var tlsUsable = false
    /// The names Sendmail's cf library knows as options (from its proto.m4), when it is here.
    var knownOptions: Set<String> = []
    /// `OSTYPE(…)`'s argument (which local mailer Sendmail's cf library chose).
    var osType: String?
    /// Where `MAILER(`local')` is.
    var localMailerLocation: MCLocation?
    /// Other files to write beside the configuration (the TLS policy map), name and text.
    var extraFiles: [(String, String)] = []

    package init(options: Options) {
        self.options = options
        let maps = options.mapsDirectory
        processor = MCMacroProcessor(
            limits: options.limits, cfDirectory: options.cfDirectory,
            mapPath: { path in Self.locate(path, mapsDirectory: maps, settings: "/etc/mail/") ?? path },
            readFile: { path in Self.readBytes(path, limit: options.limits.maximumFileSize) })
    }

    /// Reads the .mc and translates it.
    ///
    /// - Throws: ``MCMacroProcessor/Failure`` when m4 itself could not read the .mc.
    package mutating func run() throws(MCMacroProcessor.Failure) -> Output {
        try processor.process(file: options.mcFile)
        knownOptions = Self.cfLibraryOptions(cfDirectory: options.cfDirectory)
        config.header = [
            "Imported by swiftmta import-mc from \(options.mcFile) (see the report it printed).",
            "Each key names the line it came from; docs/configuration.md describes every key.",
        ]
        for diagnostic in processor.diagnostics { report(diagnostic) }
        for event in processor.events {
            switch event {
            case .call(let call):
                callsByLocation[call.location, default: []].append(call.description)
                handle(call)
            case .define(let name, let body, let location):
                if definitions[name] == nil { definitionOrder.append(name) }
                definitions[name, default: []].append(location)
                definitionBodies[name, default: []].append(body)
            case .undefine(let name, let location):
                report.add(.notNeeded, location, "undefine(`\(name)')", "back to Sendmail's default for \(name)")
            case .include(let path, let read, let location):
                include(path, read: read, at: location)
            }
        }
        try translateDefinitions()
        try translateTables()
        try translateRouting()
        translateRelay()
        try translateAuthentication()
        try translateTLS()
        try translateSMTP()
        listenersRun = translateDebianConfiguration()
        translateListeners()
        try translateQueue()
        try translateDelivery()
        translateLoopbackTrust()
        reportGeneralDifferences()
        var files: [(String, String)] = []
        if !addedAccess.isEmpty { files.append((Self.accessFileName, accessFileText())) }
        files += extraFiles
        return Output(configuration: config.rendered(), files: files, report: report)
    }

    // MARK: - Events

    private mutating func report(_ diagnostic: MCMacroProcessor.Diagnostic) {
        switch diagnostic.kind {
        case .unknownMacro:
            report.add(.notCarriedOver, diagnostic.location, diagnostic.subject,
                "unknown macro: \(diagnostic.message); m4 copies it into sendmail.cf as text, where Sendmail refuses it")
        case .rawText:
            report.add(.notCarriedOver, diagnostic.location, diagnostic.subject,
                "a raw sendmail.cf line (after LOCAL_CONFIG, LOCAL_RULESETS, MAILER_DEFINITIONS, or text m4 copies as it is): SwiftMTA has no rewriting rules or K lines of its own; express it with a map or a key")
        case .unsupported, .evaluation:
            report.add(.notCarriedOver, diagnostic.location, diagnostic.subject, diagnostic.message)
        case .missingInclude:
            report.add(.notCarriedOver, diagnostic.location, diagnostic.subject, diagnostic.message)
        case .errprint:
            report.add(.notNeeded, diagnostic.location, "errprint", "m4 prints: \(diagnostic.message)")
        }
    }

    private mutating func include(_ path: String, read: String?, at location: MCLocation) {
        let subject = "include(`\(path)')"
        if path == "cf.m4" || path.hasSuffix("/m4/cf.m4") {
            report.add(.notNeeded, location, subject, "Sendmail's cf library: this import translates its macros")
        } else if path.hasSuffix("/cf/debian/autoconf.m4") {
            report.add(.notNeeded, location, subject, "Debian's record of how Sendmail was built")
        } else if let read {
            report.add(.carriedOver, location, subject, "read \(read); its lines are listed on their own")
        } else if MCStandardFiles.include(path) != nil {
            report.add(.differs, location, subject,
                "\(path) is not here\(options.mapsDirectory.map { " (nor under \($0))" } ?? ""): the file Debian's sendmail package writes there is assumed; its settings are listed on their own at this line")
        } else if path.contains("/domain/") {
            report.add(.differs, location, "DOMAIN",
                "\(path) is not here: the settings Debian ships in it are assumed; they are listed on their own at this line")
        }
    }

    // MARK: - Files

    /// The first of the places `path` may be (under `mapsDirectory`: `DIR/` + its path under
    /// the settings folder, then `DIR/` + its last component; otherwise `path` itself) where a
    /// file exists, trying each with `suffix` (`.db`); `nil` when none does.
    static func locate(_ path: String, mapsDirectory: String?, settings: String, suffix: String = "") -> String? {
        candidates(path, mapsDirectory: mapsDirectory, settings: settings).first { exists($0 + suffix) }
    }

    /// The places `path` may be, the first being where the configuration points when none
    /// exists. Under `--maps`, a file of the settings folder (/etc/mail) is looked for there
    /// only (never in this machine's /etc/mail); any other file there by its last component,
    /// then where the .mc names it (/etc/ssl/certs).
    static func candidates(_ path: String, mapsDirectory: String?, settings: String) -> [String] {
        let path = normalized(path)
        guard let maps = mapsDirectory.map(normalized) else { return [path] }
        var list: [String] = []
        let folder = normalized(settings) + "/"
        let last = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        if path.hasPrefix(folder) {
            list.append(maps + "/" + path.dropFirst(folder.count))
            list.append(maps + "/" + last)
        } else if !path.hasPrefix("/") {
            list.append(maps + "/" + path)
        } else {
            list.append(path)
            list.insert(maps + "/" + last, at: 0)
        }
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    /// Where the configuration points for `path` when no file exists.
    static func defaultPlace(_ path: String, mapsDirectory: String?, settings: String) -> String {
        let path = normalized(path)
        guard let maps = mapsDirectory.map(normalized) else { return path }
        let folder = normalized(settings) + "/"
        if path.hasPrefix(folder) { return maps + "/" + path.dropFirst(folder.count) }
        return path.hasPrefix("/") ? path : maps + "/" + path
    }

    /// `path` with doubled slashes made single (`/etc/mail//certs` from `MAIL_SETTINGS_DIR/certs`)
    /// and no trailing slash.
    static func normalized(_ path: String) -> String {
        var result = ""
        for character in path where !(character == "/" && result.hasSuffix("/")) { result.append(character) }
        if result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    static func readBytes(_ path: String, limit: Int) -> Result<[UInt8], MCMacroProcessor.Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            return .failure(.init(location: nil, message: "cannot open \(path): \(String(cString: strerror(errno)))"))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.init(location: nil, message: "cannot read \(path): \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > limit {
                return .failure(.init(location: nil, message: "\(path) is larger than \(limit) bytes"))
            }
        }
        return .success(bytes)
    }

    /// The words of a class file (`MASQUERADE_DOMAIN_FILE`, …) as Sendmail reads an `F` line:
    /// the first word of each line, `#` lines skipped.
    static func classFileWords(_ path: String) -> [String]? {
        guard case .success(let bytes) = readBytes(path, limit: 4 * 1024 * 1024) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let text = line.mcTrimmed
            guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
            return text.mcWords().first
        }
    }

    /// The options Sendmail's cf library knows (every `conf…` name its proto.m4 and cfhead.m4
    /// mention), for telling an option SwiftMTA lacks from a name Sendmail ignores too.
    static func cfLibraryOptions(cfDirectory: String) -> Set<String> {
        var names = Set<String>()
        for file in ["m4/proto.m4", "m4/cfhead.m4"] {
            guard case .success(let bytes) = readBytes("\(cfDirectory)/\(file)", limit: 4 * 1024 * 1024) else { continue }
            var index = 0
            while index + 4 < bytes.count {
                if bytes[index] == UInt8(ascii: "c"), bytes[index + 1] == UInt8(ascii: "o"), bytes[index + 2] == UInt8(ascii: "n"),
                   bytes[index + 3] == UInt8(ascii: "f"), index == 0 || !isNameByte(bytes[index - 1]) {
                    var end = index + 4
                    while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
                    if end > index + 4 { names.insert(String(decoding: bytes[index..<end], as: UTF8.self)) }
                    index = end
                } else {
                    index += 1
                }
            }
        }
        return names
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || (byte >= 0x30 && byte <= 0x39)
    }

    /// Where `path` (as the .mc names it) is on this machine, for reading it now: under
    /// `--maps`, or as it is.
    func located(_ path: String, suffix: String = "") -> String? {
        Self.locate(path, mapsDirectory: options.mapsDirectory, settings: settingsDirectory, suffix: suffix)
    }

    /// Where the configuration should point for `path`: the file found (under `--maps`), else
    /// the first place it may be.
    func pointed(_ path: String, suffix: String = "") -> String {
        located(path, suffix: suffix) ?? Self.defaultPlace(path, mapsDirectory: options.mapsDirectory, settings: settingsDirectory)
    }

    /// `MAIL_SETTINGS_DIR` as the .mc left it (`/etc/mail/`).
    var settingsDirectory: String {
        var copy = processor
        return (try? copy.value(of: "MAIL_SETTINGS_DIR")) ?? "/etc/mail/"
    }

    /// The final value of `name`, with white space trimmed; `nil` when not defined.
    mutating func value(_ name: String) throws(MCMacroProcessor.Failure) -> String? {
        try processor.value(of: name)?.mcTrimmed
    }

    /// The location of the last `define` of `name` by the .mc (or a file it read), `nil` for
    /// Sendmail's own default.
    func definedAt(_ name: String) -> MCLocation? {
        definitions[name]?.last
    }

    /// `define(`name', `body')` as the .mc's last definition of `name` wrote it (long bodies cut).
    func defineSubject(_ name: String) -> String {
        guard let body = definitionBodies[name]?.last else { return "define(`\(name)')" }
        let shown = body.count > 72 ? String(body.prefix(69)) + "..." : body
        return "define(`\(name)', `\(shown.replacingOccurrences("\n", " "))')"
    }

    /// The calls of `macro` at `location` as written (`TRUST_AUTH_MECH(`LOGIN PLAIN')`).
    func shown(_ location: MCLocation, _ macro: String) -> String {
        let calls = (callsByLocation[location] ?? []).filter { $0.hasPrefix(macro + "(") }
        return calls.isEmpty ? macro : calls.joined(separator: " ")
    }

    /// A comment line naming where something came from.
    static func origin(_ location: MCLocation?, _ what: String) -> [String] {
        [location.map { "\($0): \(what)" } ?? what]
    }

    // MARK: - The added access map

    private func accessFileText() -> String {
        var lines = [
            "# Written by swiftmta import-mc from \(options.mcFile), for the configuration beside it",
            "# (maps.access searches this file first, then the access map of the .mc, if any).",
            "#",
        ]
        if addedAccess.contains(where: { $0.key == "Connect:127.0.0.1" }) {
            lines += [
                "# Sendmail lets a client at 127.0.0.1 or ::1 relay (proto.m4, Relay_ok: \"originated",
                "# locally\"); SwiftMTA trusts no client by its address alone (nor by the name localhost).",
                "# These entries keep Sendmail's behaviour. Remove them if a proxy, a web",
                "# application or any program on this host could relay through it for anyone.",
            ]
        }
        if addedAccess.count > 4 {
            lines += [
                "# FEATURE(`promiscuous_relay'): every client may relay. THIS IS AN OPEN RELAY.",
            ]
        }
        for entry in addedAccess { lines.append("\(entry.key)\t\(entry.value)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
