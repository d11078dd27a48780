import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftmta queue list|show ID|run [-v]|flush|remove ID` — Sendmail's mailq, `sendmail -q[-v]`
/// and `-qf`. While a server holds the spool, the command asks it over its control socket
/// (`SPOOL/control`); otherwise it opens the spool itself (taking its lock, so a server started
/// meanwhile waits for it) and, for `run` and `flush`, delivers in this process.
public enum QueueCommandLine {
    /// What to do.
    public enum Action: Hashable, Sendable {
        /// mailq: every message and the recipients still to be delivered.
        case list
        /// One message (or `all`): envelope, each recipient's state, text.
        case show(String)
        /// Attempt the recipients whose retry time has come (`sendmail -q`).
        case run
        /// Attempt every recipient not delivered yet, now (`sendmail -qf`, `postqueue -f`).
        case flush
        /// Attempt one message now.
        case deliver(String)
        /// Remove a message without delivering it.
        case remove(String)
    }

    /// Runs `action` and returns the exit status (sysexits: 0, 64 usage, 66 no such message,
    /// 69/75 the spool cannot be reached, 77 not allowed, 78 a configuration error).
    /// With `verbose`, a queue run prints each SMTP dialogue as Sendmail's `-q -v` does; runs of
    /// 100 messages or more print a progress line on standard error.
    public static func run(_ action: Action, configurationFile: String?, json: Bool = false, verbose: Bool = false) async -> Int32 {
        let context: QueueContext
        switch QueueContext.load(file: configurationFile) {
        case .success(let loaded): context = loaded
        case .failure(let error):
            printLine(error.description, to: STDERR_FILENO)
            return 78
        }
        let request: QueueControl.Request
        switch action {
        case .list: request = .list(json: json)
        case .show(let id): request = .show(id, json: json)
        case .run: request = .run(selection: "due", verbose: verbose)
        case .flush: request = .run(selection: "all", verbose: verbose)
        case .deliver(let id): request = .run(selection: id, verbose: verbose)
        case .remove(let id): request = .remove(id)
        }
        let progress = ProgressLine()
        let answer: @Sendable (QueueControl.Answer) -> Void = { answer in
            switch answer {
            case .output(let line): printLine(line, to: STDOUT_FILENO)
            case .error(let line): printLine(line, to: STDERR_FILENO)
            case .progress(let done, let total): progress.update(done: done, total: total)
            case .status: break
            }
        }
        do {
            let status = try await QueueControlClient.send(request, directory: context.spoolDirectory, text: NoText?.none, answer: answer)
            progress.finish()
            return status
        } catch is QueueControlClient.Unreachable {
            // No server: this process opens the spool.
        } catch {
            printLine("swiftmta queue: the server's control socket failed: \(error)", to: STDERR_FILENO)
            return 75
        }
        var logger = Logger(label: "swiftmta.queue")
        logger.logLevel = .warning
        let direct: QueueContext.Direct
        switch await context.openDirect(logger: logger) {
        case .success(let opened): direct = opened
        case .failure(let error):
            printLine("swiftmta queue: \(error)", to: STDERR_FILENO)
            return 75
        }
        let output = CommandOutput(emit: answer)
        let status = await QueueControlServer.perform(request, queue: direct.queue, runner: direct.runner, output: output)
        progress.finish()
        await direct.close()
        return status
    }

    static func printLine(_ line: String, to descriptor: Int32) {
        var text = line + "\n"
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }
}

/// `queue run: 1200 of 5000 messages` on standard error, at most once a second, for runs of 100
/// messages or more.
final class ProgressLine: Sendable {
    private struct State {
        var last = ContinuousClock.now - .seconds(2)
        var shown = false
        var done = 0
        var total = 0
    }

    private let state = Synchronization.Mutex(State())

    func update(done: Int, total: Int) {
        let line: String? = state.withLock { state in
            state.done = done
            state.total = total
            guard total >= 100, ContinuousClock.now - state.last >= .seconds(1) || done == total else { return nil }
            state.last = .now
            state.shown = true
            return "queue run: \(done) of \(total) messages"
        }
        if let line { QueueCommandLine.printLine(line, to: STDERR_FILENO) }
    }

    func finish() {}
}

import Synchronization
