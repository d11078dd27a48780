import MailRouting
import Logging
import MailMaps
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `swiftmta import-mc sendmail.mc [--maps DIR] [--out FILE] [--check]`: the migration from
/// Sendmail. Reads a `sendmail.mc` as m4 and Sendmail's cf library read it, writes a SwiftMTA
/// configuration that behaves as that Sendmail did (pointing at the same map files, text or
/// makemap-built), and prints a report of every line carried over, every line not carried over
/// (file:line, why), every behaviour that differs, and warnings for what is known to be wrong
/// today (dead DNSBL zones, an open relay, PLAIN/LOGIN without TLS, weak keys). The written
/// configuration is then checked as `swiftmta check-config` checks it.
///
/// With `--check`, the imported configuration routes a list of addresses (the same decision as
/// `swiftmta route`) and, when a `sendmail` binary and the .cf are at hand, `sendmail -bt`
/// routes them too, side by side.
public enum ImportMCCommand {
    /// What the command was asked.
    public struct Request: Sendable {
        /// The .mc.
        public var mcFile: String
        /// Where the .mc's files are, when not where it names them.
        public var mapsDirectory: String?
        /// The configuration to write (default `swiftmta.toml` in the working directory).
        public var outputFile: String?
        /// The host name (`$j`) when the .mc does not set confDOMAIN_NAME.
        public var hostname: String?
        /// Overwrite the configuration (and the access map beside it) if they exist.
        public var force: Bool
        /// Route addresses with the imported configuration and compare with `sendmail -bt`.
        public var check: Bool
        /// The addresses for `--check` (one per line), instead of those made from the maps.
        public var addressesFile: String?
        /// The sendmail.cf for `--check` (default `sendmail.cf` beside the .mc).
        public var cfFile: String?
        /// The sendmail program for `--check` (default `sendmail` in PATH, or /usr/sbin/sendmail).
        public var sendmail: String?
        /// Sendmail's cf library folder.
        public var cfDirectory: String?

        /// A request; only the .mc is required (see the properties for the rest).
        public init(mcFile: String, mapsDirectory: String? = nil, outputFile: String? = nil, hostname: String? = nil,
                    force: Bool = false, check: Bool = false, addressesFile: String? = nil, cfFile: String? = nil,
                    sendmail: String? = nil, cfDirectory: String? = nil) {
            self.mcFile = mcFile
            self.mapsDirectory = mapsDirectory
            self.outputFile = outputFile
            self.hostname = hostname
            self.force = force
            self.check = check
            self.addressesFile = addressesFile
            self.cfFile = cfFile
            self.sendmail = sendmail
            self.cfDirectory = cfDirectory
        }

        /// Why the options do not go together, or `nil`.
        public var problem: String? {
            if let hostname, let problem = HostNameRule.problem(with: hostname) { return "--hostname: \(problem)" }
            if !check {
                for (option, value) in [("--addresses", addressesFile), ("--cf", cfFile), ("--sendmail", sendmail)] where value != nil {
                    return "\(option) goes with --check"
                }
            }
            return nil
        }
    }

    /// Exit statuses.
    public enum ExitStatus {
        /// Written, check-config passes (and with --check, every answer is Sendmail's).
        public static let imported: Int32 = 0
        /// Written, but check-config finds errors, or --check found answers that differ.
        public static let needsAttention: Int32 = 1
        /// The options are wrong.
        public static let usage: Int32 = 64
        /// The .mc cannot be read as m4 (EX_DATAERR).
        public static let badInput: Int32 = 65
        /// The configuration exists (without --force) or cannot be written (EX_CANTCREAT).
        public static let cannotWrite: Int32 = 73
    }

    /// Runs the command; returns what to print and the exit status (``ExitStatus``). The file
    /// work runs on a thread of NIO's pool, not on the caller's.
    public static func run(_ request: Request) async -> (output: String, status: Int32) {
        if let problem = request.problem { return ("swiftmta import-mc: \(problem)\n", ExitStatus.usage) }
        let imported: (output: String, status: Int32, configuration: String?)
        do {
            imported = try await NIOThreadPool.singleton.runIfActive { importAndWrite(request) }
        } catch {
            return ("swiftmta import-mc: \(error)\n", ExitStatus.cannotWrite)
        }
        guard request.check, let configuration = imported.configuration else { return (imported.output, imported.status) }
        let (text, agrees) = await compare(request, configurationFile: configuration)
        let status = imported.status != 0 ? imported.status : (agrees ? ExitStatus.imported : ExitStatus.needsAttention)
        return (imported.output + "\n" + text, status)
    }

    private static func importAndWrite(_ request: Request) -> (output: String, status: Int32, configuration: String?) {
        let cwd = SwiftMTAConfiguration.currentDirectory()
        let output = absolute(request.outputFile ?? "swiftmta.toml", in: cwd)
        let folder = output.lastIndex(of: "/").map { String(output[..<$0]) } ?? cwd
        var options = SendmailMCImporter.Options(mcFile: request.mcFile, configurationFile: output)
        options.mapsDirectory = request.mapsDirectory.map { absolute($0, in: cwd) }
        options.hostname = request.hostname
        if let directory = request.cfDirectory { options.cfDirectory = directory }
        var importer = SendmailMCImporter(options: options)
        let result: SendmailMCImporter.Output
        do {
            result = try importer.run()
        } catch {
            return ("swiftmta import-mc: \(error)\n", ExitStatus.badInput, nil)
        }
        let targets = [output] + result.files.map { folder + "/" + $0.name }
        if !request.force, let existing = targets.first(where: SendmailMCImporter.exists) {
            return ("swiftmta import-mc: \(existing) exists; --force replaces it\n", ExitStatus.cannotWrite, nil)
        }
        do {
            try FileSupport.writeAtomically(result.configuration, to: output, mode: 0o644)
            for file in result.files {
                try FileSupport.writeAtomically(file.text, to: folder + "/" + file.name, mode: 0o644)
            }
        } catch {
            return ("swiftmta import-mc: \(error)\n", ExitStatus.cannotWrite, nil)
        }
        var report = result.report
        report.checkErrors = checkConfiguration(output)
        let status = report.checkErrors?.isEmpty == false ? ExitStatus.needsAttention : ExitStatus.imported
        return (report.rendered(source: request.mcFile, written: targets), status, output)
    }

    /// Every error `swiftmta check-config` would print for the written file.
    static func checkConfiguration(_ path: String) -> [String] {
        let (configuration, errors) = SwiftMTAConfiguration.check(path: path)
        guard let configuration else { return errors.map(\.description) }
        let (_, found) = ReferenceSetup(configuration: configuration, createsFiles: false, logger: Logger(label: "swiftmta.import-mc")).prepare()
        // The permissions check-config insists on too (keys, authinfo, the spool).
        let permissions = PermissionCheck(configuration: configuration, runAs: ProcessIdentity.configured(configuration.daemon)).run()
        return (errors + found + permissions.errors).map(\.description)
    }

    static func absolute(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : PathResolver(directory: directory).resolve(path)
    }

    // MARK: - --check

    private static func compare(_ request: Request, configurationFile: String) async -> (String, Bool) {
        let configuration: SwiftMTAConfiguration
        let router: Router
        let registry: MailMapRegistry
        do {
            configuration = try SwiftMTAConfiguration.load(path: configurationFile)
            registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
            router = try RoutingSetup.router(for: configuration, registry: registry)
        } catch {
            return ("--check: the imported configuration cannot route: \(error)\n", false)
        }
        let addresses: [String]
        if let file = request.addressesFile {
            switch SendmailMCImporter.readBytes(file, limit: 4 * 1024 * 1024) {
            case .success(let bytes):
                addresses = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.mcTrimmed }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            case .failure(let failure):
                return ("--check: \(failure.message)\n", false)
            }
        } else {
            addresses = await withTaskExecutorPreference(registry.threadPool) {
                await sampleAddresses(configuration, registry: registry)
            }
        }
        let triples: [SendmailAddressTest.Answer] = await withTaskExecutorPreference(registry.threadPool) {
            var answers: [SendmailAddressTest.Answer] = []
            for address in addresses { answers.append(await route(address, router: router)) }
            return answers
        }

        // sendmail -bt, when there is one and a .cf.
        let mcFolder = request.mcFile.lastIndex(of: "/").map { String(request.mcFile[..<$0]) } ?? "."
        let cf = request.cfFile ?? mcFolder + "/sendmail.cf"
        let places: [String] = ["/usr/sbin/sendmail", "/usr/lib/sendmail"]
        let installed = places.first { access($0, X_OK) == 0 }
        let program: String = request.sendmail ?? installed ?? "sendmail"
        var sendmailAnswers: [SendmailAddressTest.Answer?]?
        var note: String
        if !SendmailMCImporter.exists(cf) {
            note = "sendmail -bt not asked: no \(cf) (--cf FILE names the sendmail.cf built from this .mc)"
        } else if request.sendmail == nil, !program.hasPrefix("/") {
            note = "sendmail -bt not asked: no sendmail program here (--sendmail PATH names one)"
        } else {
            let test = SendmailAddressTest(sendmail: program, configurationFile: cf, hostname: configuration.hostname)
            do {
                sendmailAnswers = try await NIOThreadPool.singleton.runIfActive { try test.answers(addresses) }
                note = "compared with \(program) -bt -C \(cf)"
            } catch {
                note = "sendmail -bt could not be asked: \(error)"
            }
        }
        var lines = ["--check: \(addresses.count) address\(addresses.count == 1 ? "" : "es") routed by the imported configuration (swiftmta route); \(note)"]
        let width = min(max(addresses.map(\.count).max() ?? 0, 10), 40)
        var differing = 0
        for (index, address) in addresses.enumerated() {
            let ours = triples[index].triple
            let padded = address.count < width ? address + String(repeating: " ", count: width - address.count) : address
            guard let sendmailAnswers else {
                lines.append("    \(padded)  \(ours)")
                continue
            }
            let theirs = sendmailAnswers[index]?.triple ?? "(no answer)"
            if theirs == ours {
                lines.append("  = \(padded)  \(ours)")
            } else {
                differing += 1
                lines.append("  ≠ \(padded)  swiftmta: \(ours)")
                lines.append("    \(String(repeating: " ", count: width))  sendmail: \(theirs)")
            }
        }
        if sendmailAnswers != nil {
            lines.append(differing == 0 ? "all \(addresses.count) answers are Sendmail's" : "\(differing) of \(addresses.count) answers differ from Sendmail's")
        }
        return (lines.joined(separator: "\n") + "\n", differing == 0)
    }

    /// The (mailer, host, user) triple `swiftmta route` prints for `text`.
    static func route(_ text: String, router: Router) async -> SendmailAddressTest.Answer {
        guard let address = try? RoutingAddress(parsing: text) else {
            do {
                _ = try RoutingAddress(parsing: text)
            } catch {
                return .init(mailer: "*error*", host: error.reply.enhancedCode?.description ?? "",
                             user: "\"\(error.reply.code) \(error.reply.lines.joined(separator: " "))\"")
            }
            return .init(mailer: "*error*", host: "", user: "")
        }
        let (mailer, host, user) = await router.route(address).sendmailTriple
        return .init(mailer: mailer, host: host, user: user)
    }

    /// Addresses that exercise the configuration: postmaster, root and an unknown user at each
    /// local and virtual domain, every virtusertable and mailertable key, some aliases, and a
    /// remote domain.
    static func sampleAddresses(_ configuration: SwiftMTAConfiguration, registry: MailMapRegistry) async -> [String] {
        func keys(_ spec: String?, as type: String? = nil) async -> [String] {
            guard var spec else { return [] }
            if let type, spec.hasPrefix("text:") { spec = type + ":" + spec.dropFirst(5) }
            guard let map = try? await registry.open(spec) as? any ListableMailMap,
                  let entries = try? await map.entries() else { return [] }
            return entries.map(\.key)
        }
        var domains = [configuration.hostname, "localhost"] + configuration.routing.extraLocalNames + configuration.routing.virtualDomains
        domains += await keys(configuration.tables.localHostNames, as: "list")
        var addresses = ["postmaster", "root"]
        for domain in SendmailMCImporter.unique(domains) {
            addresses += ["postmaster@\(domain)", "root@\(domain)", "nosuchuser@\(domain)"]
        }
        for key in await keys(configuration.tables.virtusertable) {
            if key.hasPrefix("@") { addresses.append("someone\(key)") } else if key.contains("@") { addresses.append(key) }
        }
        for key in await keys(configuration.tables.mailertable) where key != "." {
            addresses.append(key.hasPrefix(".") ? "user@host\(key)" : "user@\(key)")
        }
        addresses += await keys(configuration.tables.aliases, as: "aliases").prefix(20)
        addresses += ["user@example.com", "user@example.net"]
        return Array(SendmailMCImporter.unique(addresses).prefix(500))
    }
}
