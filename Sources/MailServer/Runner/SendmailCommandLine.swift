import Logging
import MailMaps
import MailRouting
import NIOCore
import NIOPosix
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftmta sendmail` — the `/usr/sbin/sendmail` interface that cron, PHP's mail() and scripts
/// use (also when the binary is called through a link named `sendmail`, and `mailq` for `-bp`).
///
/// The message is read from standard input (`-bm`, the default) and queued locally as a local
/// submission (MailRouting's `SessionFacts(client: nil)`: it may relay). Recipients come from the
/// arguments and, with `-t`, from the `To:`, `Cc:` and `Bcc:` headers (or their `Resent-` forms
/// when the message has them); `Bcc:` is removed. `From:`, `Date:` and `Message-ID:` are added
/// when missing.
///
/// How it reaches the spool: the spool's journal has one writer. While `swiftmta serve` runs, the
/// message goes to it over the spool's control socket (any local user may submit; the server
/// learns who from the socket's peer credentials and writes it into the `Received:` line); the
/// server then delivers it at once. With no server running, this process takes the spool's lock,
/// queues the message and delivers it before it exits (`-odq`: queue only, for the next run).
///
/// Exit status (sysexits): 0 queued; 64 usage; 65 a malformed address; 67 no valid recipient;
/// 75 the spool cannot take it now; 78 the configuration cannot be used.
public enum SendmailCommandLine {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noUser: Int32 = 67
    static let software: Int32 = 70
    static let temporaryFailure: Int32 = 75
    static let configurationError: Int32 = 78

    /// The options, as Sendmail and Postfix's sendmail(1) take them.
    struct Options {
        enum Mode { case message, smtp, verify, test, print, queueRun }
        var mode = Mode.message
        var readRecipients = false
        var ignoreDots = false
        var sender: String?
        var fullName: String?
        var configurationFile: String?
        var verbose = false
        var queueOnly = false
        var notify: String?
        var ret: String?
        var envelopeID: String?
        var recipients: [String] = []
    }

    /// Parses the arguments; a usage error line on failure.
    static func parse(_ arguments: [String], invokedAs name: String) -> Result<Options, UsageError> {
        var options = Options()
        if name == "mailq" { options.mode = .print }
        var index = 0
        func value(_ flag: String, _ argument: String) -> String? {
            if argument.count > flag.count { return String(argument.dropFirst(flag.count)) }
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                options.recipients += arguments[(index + 1)...]
                break
            }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                options.recipients.append(argument)
                index += 1
                continue
            }
            switch argument {
            case "-t": options.readRecipients = true
            case "-i", "-oi": options.ignoreDots = true
            case "-v": options.verbose = true
            case "-bm": options.mode = .message
            case "-bs": options.mode = .smtp
            case "-bv": options.mode = .verify
            case "-bt": options.mode = .test
            case "-bp": options.mode = .print
            case "-odq", "-odd": options.queueOnly = true
            case "-odb", "-odi": options.queueOnly = false
            case "-U", "-n", "-em", "-ep", "-eq", "-ew", "-oem", "-oep", "-oeq", "-oew", "-G", "-Am", "-Ac": break
            default:
                if argument.hasPrefix("-q") {
                    options.mode = .queueRun
                } else if argument.hasPrefix("-f") || argument.hasPrefix("-r") {
                    guard let sender = value(String(argument.prefix(2)), argument) else { return .failure(UsageError("\(argument) needs an address")) }
                    options.sender = sender
                } else if argument.hasPrefix("-F") {
                    guard let name = value("-F", argument) else { return .failure(UsageError("-F needs a name")) }
                    options.fullName = name
                } else if argument.hasPrefix("-C") {
                    guard let file = value("-C", argument) else { return .failure(UsageError("-C needs a file")) }
                    options.configurationFile = file
                } else if argument.hasPrefix("-N") {
                    guard let notify = value("-N", argument) else { return .failure(UsageError("-N needs never or success,failure,delay")) }
                    options.notify = notify
                } else if argument.hasPrefix("-R") {
                    guard let ret = value("-R", argument) else { return .failure(UsageError("-R needs full or hdrs")) }
                    options.ret = ret
                } else if argument.hasPrefix("-V") {
                    guard let envid = value("-V", argument) else { return .failure(UsageError("-V needs an envelope id")) }
                    options.envelopeID = envid
                } else if argument.hasPrefix("-o") || argument.hasPrefix("-O") || argument.hasPrefix("-B") || argument.hasPrefix("-h")
                            || argument.hasPrefix("-L") || argument.hasPrefix("-X") {
                    // Sendmail options that do not apply here (-oX, -O, -B type, -h hops, -L tag, -X log).
                    if ["-B", "-h", "-L", "-X", "-O"].contains(argument) { index += 1 }
                } else if argument.hasPrefix("-b") {
                    return .failure(UsageError("\(argument) is not supported (use -bm, -bs, -bv, -bt or -bp)"))
                } else {
                    return .failure(UsageError("unknown option \(argument)"))
                }
            }
            index += 1
        }
        return .success(options)
    }

    struct UsageError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `swiftmta sendmail ARGUMENTS` (or the binary called as `name`); returns the exit status.
    public static func run(arguments: [String], invokedAs name: String = "sendmail") async -> Int32 {
        let options: Options
        switch parse(arguments, invokedAs: name) {
        case .success(let parsed): options = parsed
        case .failure(let error):
            QueueCommandLine.printLine("sendmail: \(error)", to: STDERR_FILENO)
            return usage
        }
        switch options.mode {
        case .print:
            return await QueueCommandLine.run(.list, configurationFile: options.configurationFile)
        case .queueRun:
            return await QueueCommandLine.run(.run, configurationFile: options.configurationFile, verbose: options.verbose)
        case .verify, .test:
            return await verify(options)
        case .smtp:
            return await smtpSession(options)
        case .message:
            return await submitMessage(options)
        }
    }

    // MARK: - -bv, -bt

    private static func verify(_ options: Options) async -> Int32 {
        var addresses = options.recipients
        if addresses.isEmpty, options.mode == .test {
            // Address test mode from standard input: one address a line (`/parse ADDR` and
            // `3,0 ADDR` as Sendmail's -bt writes them too).
            let input = await readAll(limit: 1 << 20)
            for line in String(decoding: input, as: UTF8.self).split(separator: "\n") {
                var text = line.trimmingCharacters
                if text.hasPrefix("/parse ") { text = String(text.dropFirst(7)) }
                if let space = text.firstIndex(of: " "), text[..<space].allSatisfy({ $0.isNumber || $0 == "," }) { text = String(text[text.index(after: space)...]) }
                if !text.isEmpty, !text.hasPrefix("#"), !text.hasPrefix("/") { addresses.append(text) }
            }
        }
        guard !addresses.isEmpty else {
            QueueCommandLine.printLine("sendmail: give an address to \(options.mode == .test ? "test" : "verify")", to: STDERR_FILENO)
            return usage
        }
        var status: Int32 = ok
        for address in addresses {
            let (output, code) = await RouteCommand.run(RouteCommand.Request(
                address: address, localSubmission: true, configurationFile: options.configurationFile ?? configurationFromEnvironment()))
            QueueCommandLine.printLine(String(output.dropLast(output.hasSuffix("\n") ? 1 : 0)), to: STDOUT_FILENO)
            if code == RouteCommand.ExitStatus.configurationError { return configurationError }
            if code != 0 { status = noUser }
        }
        return status
    }

    private static func configurationFromEnvironment() -> String? {
        if let value = getenv("SWIFTMTA_CONFIG") { return String(cString: value) }
        return access(QueueContext.installedConfiguration, R_OK) == 0 ? QueueContext.installedConfiguration : nil
    }

    // MARK: - -bm

    private static func submitMessage(_ options: Options) async -> Int32 {
        let context: QueueContext
        switch QueueContext.load(file: options.configurationFile) {
        case .success(let loaded): context = loaded
        case .failure(let error):
            QueueCommandLine.printLine("sendmail: \(error)", to: STDERR_FILENO)
            return configurationError
        }
        let hostname = context.configuration.hostname
        let input = SubmissionInput(ignoreDots: options.ignoreDots)
        // The header, read whole (bounded), so that -t can take recipients and Bcc can go.
        guard let header = await input.readHeader(limit: 1 << 20) else {
            QueueCommandLine.printLine("sendmail: the message header is longer than 1 MiB", to: STDERR_FILENO)
            return dataError
        }
        var fields = MessageHeader(text: header)
        let user = LocalSubmission.Submitter.userName(getuid())
        let sender = options.sender ?? "\(user)@\(hostname)"
        var recipients = options.recipients
        if options.readRecipients {
            let names = fields.contains(prefix: "resent-") ? ["resent-to", "resent-cc", "resent-bcc"] : ["to", "cc", "bcc"]
            for name in names {
                for value in fields.values(of: name) {
                    do {
                        recipients += try RoutingAddress.list(parsing: value).map { $0.description }
                    } catch {
                        QueueCommandLine.printLine("sendmail: \(name): \(error.reply.lines.joined(separator: " "))", to: STDERR_FILENO)
                        return dataError
                    }
                }
            }
        }
        fields.remove("bcc")
        fields.remove("resent-bcc")
        if !fields.contains("from") {
            let address = sender.trimmingAngles.isEmpty ? "MAILER-DAEMON@\(hostname)" : LocalSubmission.qualified(sender.trimmingAngles, hostname: hostname)
            fields.append("From", options.fullName.map { "\(MessageHeader.displayName($0)) <\(address)>" } ?? address)
        }
        if !fields.contains("date") { fields.append("Date", RFC5322Date.now()) }
        if !fields.contains("message-id") { fields.append("Message-ID", "<\(FileSupport.randomIdentifier()).\(time(nil))@\(hostname)>") }
        recipients = recipients.map(\.trimmingAngles).filter { !$0.isEmpty }
        guard !recipients.isEmpty else {
            QueueCommandLine.printLine("sendmail: no recipients (give them as arguments, or use -t)", to: STDERR_FILENO)
            return usage
        }

        // Each recipient as the server would answer it at RCPT for a local submission.
        var accepted: [String] = []
        if let router = try? RoutingSetup.router(for: context.configuration, registry: RoutingSetup.registry(nameservers: context.configuration.nameservers)) {
            for recipient in recipients {
                guard let address = try? RoutingAddress(parsing: LocalSubmission.qualified(recipient, hostname: hostname)) else {
                    QueueCommandLine.printLine("\(recipient)... Invalid address", to: STDERR_FILENO)
                    continue
                }
                let answer = await router.answerRecipient(
                    address, sender: try? RoutingAddress(parsing: sender), mail: nil, session: SessionFacts(client: nil))
                if answer.isRefusal {
                    QueueCommandLine.printLine("\(recipient)... \(answer.reply.lines.joined(separator: " "))", to: STDERR_FILENO)
                } else {
                    accepted.append(recipient)
                }
            }
        } else {
            accepted = recipients
        }
        guard !accepted.isEmpty else { return noUser }

        var parameters: [String] = []
        if let notify = options.notify { parameters.append("NOTIFY=\(notify.uppercased())") }
        if let ret = options.ret { parameters.append("RET=\(ret.uppercased())") }
        if let envid = options.envelopeID { parameters.append("ENVID=\(envid)") }
        let submission = QueueControl.Submission(
            sender: sender, recipients: accepted, parameters: parameters, senderGiven: options.sender != nil)
        do {
            _ = try LocalSubmission.envelope(submission, hostname: hostname)
        } catch {
            QueueCommandLine.printLine("sendmail: \(error.message)", to: STDERR_FILENO)
            return error.status
        }
        let text = SubmissionText(header: ByteBuffer(string: fields.encoded), input: input)
        return await submit(submission, text: text, context: context, options: options)
    }

    /// What became of a submission.
    enum SubmissionOutcome: Sendable {
        case queued(String)
        case failed(status: Int32, message: String)
    }

    /// Hands a submission to the running server, or queues (and, unless `queueOnly`, delivers) it
    /// here; `transcript` gets the delivery's lines with -v.
    static func deliver<Text: AsyncSequence & Sendable>(
        _ submission: QueueControl.Submission, text: Text, context: QueueContext, queueOnly: Bool,
        transcript: (@Sendable (String) -> Void)? = nil
    ) async -> SubmissionOutcome where Text.Element == ByteBuffer {
        let lines = LineCollector()
        do {
            let status = try await QueueControlClient.send(.submit(submission), directory: context.spoolDirectory, text: text) { answer in
                switch answer {
                case .output(let line): lines.add(output: line)
                case .error(let line): lines.add(error: line)
                case .progress, .status: break
                }
            }
            return status == ok ? .queued(lines.output.first ?? "") : .failed(status: status, message: lines.errors.joined(separator: "; "))
        } catch is QueueControlClient.Unreachable {
            // No server: queue it here.
        } catch {
            return .failed(status: temporaryFailure, message: "\(error)")
        }
        var logger = Logger(label: "swiftmta.sendmail")
        logger.logLevel = .warning
        let direct: QueueContext.Direct
        switch await context.openDirect(logger: logger) {
        case .success(let opened): direct = opened
        case .failure(let error): return .failed(status: temporaryFailure, message: error.description)
        }
        let outcome: SubmissionOutcome
        do {
            let id = try await LocalSubmission.store(
                submission, text: text, submitter: .current, queue: direct.queue, hostname: context.configuration.hostname)
            if !queueOnly {
                _ = await direct.runner.runQueue(.message(id), observer: QueueRunner.RunObserver(transcript: transcript, outcome: transcript))
            }
            outcome = .queued(id.description)
        } catch let refusal as LocalSubmission.Refusal {
            outcome = .failed(status: refusal.status, message: refusal.message)
        } catch {
            outcome = .failed(status: temporaryFailure, message: "the message could not be queued: \(error)")
        }
        await direct.close()
        return outcome
    }

    static func submit<Text: AsyncSequence & Sendable>(
        _ submission: QueueControl.Submission, text: Text, context: QueueContext, options: Options
    ) async -> Int32 where Text.Element == ByteBuffer {
        let show: @Sendable (String) -> Void = { QueueCommandLine.printLine($0, to: STDOUT_FILENO) }
        switch await deliver(submission, text: text, context: context, queueOnly: options.queueOnly, transcript: options.verbose ? show : nil) {
        case .queued(let id):
            if options.verbose { QueueCommandLine.printLine("queued as \(id)", to: STDOUT_FILENO) }
            return ok
        case .failed(let status, let message):
            QueueCommandLine.printLine("sendmail: \(message)", to: STDERR_FILENO)
            return status
        }
    }

    /// Everything on standard input, up to `limit` octets.
    static func readAll(limit: Int) async -> [UInt8] {
        let input = SubmissionInput(ignoreDots: true)
        var bytes: [UInt8] = []
        while bytes.count < limit, let piece = await input.readRaw() { bytes += piece }
        return bytes
    }
}

/// The lines a server answered.
final class LineCollector: Sendable {
    private let lines = Mutex((output: [String](), errors: [String]()))
    func add(output line: String) { lines.withLock { $0.output.append(line) } }
    func add(error line: String) { lines.withLock { $0.errors.append(line) } }
    var output: [String] { lines.withLock { $0.output } }
    var errors: [String] { lines.withLock { $0.errors } }
}

import Synchronization
