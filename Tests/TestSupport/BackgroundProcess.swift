import Foundation

/// A long-running program a test talks to (`openssl s_server`, for example), started under a
/// small shell watchdog that kills it when the test process goes away, so that a crashed test
/// leaves nothing running. Its standard output and error go to a file read by ``output()``.
public final class BackgroundProcess: @unchecked Sendable {
    private let process: Process
    private let directory: TemporaryDirectory
    private let outputFile: String
    private let pidFile: String
    private let statusFile: String

    /// Starts `executable` with `arguments` in the background, in `directory` when one is given.
    public init(_ executable: String, _ arguments: [String], directory workingDirectory: String? = nil) throws {
        guard let path = ExternalTool.find(executable) else {
            throw TestSupportError("\(executable) is not installed (run scripts/bootstrap)")
        }
        directory = try TemporaryDirectory(prefix: "swiftmta-background")
        outputFile = directory.file("output")
        pidFile = directory.file("pid")
        statusFile = directory.file("status")
        let quoted = ([path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Standard input is /dev/null: use modes that do not read commands from it (s_server -rev, -www).
        process.arguments = ["-c", """
            \(quoted.joined(separator: " ")) </dev/null >'\(outputFile)' 2>&1 &
            child=$!
            echo $child >'\(pidFile)'
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.2; done
            kill -9 $child 2>/dev/null
            wait $child
            echo $? >'\(statusFile)'
            """]
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// What the program printed so far.
    public func output() -> String {
        (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    }

    /// The program's process ID, once it has started.
    public var processIdentifier: Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Sends `signal` to the program (SIGTERM to test a graceful shutdown).
    public func send(signal: Int32) {
        if let pid = processIdentifier { kill(pid, signal) }
    }

    /// The program's exit status once it has ended (128 + the signal's number when a signal ended
    /// it), or `nil` when it has not ended within `timeout`.
    public func exitStatus(within timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if let text = try? String(contentsOfFile: statusFile, encoding: .utf8),
               let status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return status
            }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Stops the program with SIGKILL (SIGTERM may be blocked in children of Swift concurrency's
    /// threads) unless it has ended already, and waits (at most 10 s) for the watchdog to record
    /// its end. It does not wait with `Process.waitUntilExit()`: that spins on the calling thread
    /// and, when the watchdog ended on its own (a program that exits by itself), was seen to miss
    /// the exit and spin forever.
    public func stop() {
        guard process.isRunning else { return }
        if exitStatus(within: .zero) == nil, let pid = processIdentifier {
            kill(pid, SIGKILL)
        }
        _ = exitStatus(within: .seconds(10))
    }

    deinit {
        stop()
    }
}
