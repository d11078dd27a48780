import Foundation

/// Runs a real program (makemap, postmap, openssl, slapd, …) and collects what it printed.
public enum ExternalTool {
    /// What a finished program left behind.
    public struct Output: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// The repository's root, found from this file's path.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Postfix's unpacked package (scripts/bootstrap puts it in the git-ignored `.tools/`).
    public static let postfixRoot = "\(repositoryRoot)/.tools/postfix"

    /// The environment Postfix's programs need to find their private libraries.
    public static var postfixEnvironment: [String: String] {
        ["LD_LIBRARY_PATH": "\(postfixRoot)/usr/lib/postfix"]
    }

    /// The full path of `name` on PATH or in the sbin folders, or `nil`.
    public static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/sbin"] {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable` with `arguments`, feeding `input` on standard input, and waits for it.
    ///
    /// - Throws: ``TestSupportError`` when the program cannot be found or started, or when it runs
    ///   longer than `timeout` (it is killed then).
    @discardableResult
    public static func run(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) throws -> Output {
        guard let path = find(executable) else {
            throw TestSupportError("\(executable) is not installed (run scripts/bootstrap)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // A program that exits before reading all of its input (EPIPE) is not this process's
        // crash: the throwing write reports it, the old write(_:) trapped.
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        // Read both pipes while the program runs, so a chatty program cannot block on a full pipe.
        let outputs = PipeCollector(stdout: stdout, stderr: stderr)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                // SIGKILL: a child of Swift concurrency's threads may have SIGTERM blocked.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) ran longer than \(timeout)")
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        let (out, err) = outputs.finish()
        return Output(status: process.terminationStatus, standardOutput: out, standardError: err)
    }

    /// Runs a program from async code, on a thread of its own (see ``offThread(_:)``).
    @discardableResult
    public static func run(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> Output {
        try await offThread {
            try run(executable, arguments, input: input, environment: environment, timeout: timeout)
        }
    }

    /// Runs a program from async code, on a thread of its own (see ``offThread(_:)``): use this
    /// whenever the program talks to a server running in the same test process.
    @discardableResult
    public static func runChecked(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> Output {
        try await offThread {
            try runChecked(executable, arguments, input: input, environment: environment, timeout: timeout)
        }
    }

    /// Like ``run(_:_:input:environment:timeout:)`` but throws unless the program exits with 0.
    @discardableResult
    public static func runChecked(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) throws -> Output {
        let output = try run(executable, arguments, input: input, environment: environment, timeout: timeout)
        guard output.status == 0 else {
            throw TestSupportError(
                "\(executable) \(arguments.joined(separator: " ")) exited with \(output.status): \(output.standardError)\(output.standardOutput)")
        }
        return output
    }
}

/// Drains two pipes on background threads.
final class PipeCollector: @unchecked Sendable {
    private let group = DispatchGroup()
    private var out = Data()
    private var err = Data()

    init(stdout: Pipe, stderr: Pipe) {
        group.enter()
        DispatchQueue.global().async {
            self.out = stdout.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            self.err = stderr.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
    }

    func finish() -> (String, String) {
        group.wait()
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
