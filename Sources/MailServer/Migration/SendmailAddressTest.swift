#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sendmail's address test mode, asked for comparison: `sendmail -bt -C sendmail.cf` fed one
/// `/parse ADDRESS` line per address, and the (mailer, host, user) triple it prints for each
/// (`mailer esmtp, host relayhost.somedom.com, user foo@somedom.com`).
///
/// Sendmail prints a `> ` prompt before reading each line, so the answer to the n-th line is
/// what follows the n-th prompt. A host name without a dot makes Sendmail wait 60 s for one: as
/// root, with `unshare` at hand, it runs in a UTS namespace of its own under the configured
/// host name. Address test mode delivers nothing.
struct SendmailAddressTest {
    /// One answer: the triple, or what Sendmail said instead.
    struct Answer: Hashable {
        var mailer: String
        var host: String
        var user: String

        var triple: String { [mailer, host.isEmpty ? "-" : host, user].joined(separator: " ") }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The sendmail program (a path, or a name looked up in PATH).
    var sendmail: String
    /// The sendmail.cf to test.
    var configurationFile: String
    /// The host name Sendmail should have (`$j`), for a system whose own name has no dot.
    var hostname: String?
    /// How long the whole run may take.
    var timeout: Duration = .seconds(300)

    /// The answers for `addresses`, in order (`nil` where Sendmail printed no triple).
    func answers(_ addresses: [String]) throws(Failure) -> [Answer?] {
        let script = addresses.map { "/parse \($0)\n" }.joined()
        var argv = [sendmail, "-bt", "-C", configurationFile]
        let systemName = ServerCommandLine.localHostname()
        if !systemName.contains("."), geteuid() == 0, let hostname, HostNameRule.problem(with: hostname) == nil,
           access("/usr/bin/unshare", X_OK) == 0 {
            argv = ["/usr/bin/unshare", "-u", "sh", "-c", "hostname \"$0\" && exec \"$@\"", hostname] + argv
        }
        let run = ChildProcess.run(argv, input: Array(script.utf8), timeout: timeout)
        if let problem = run.problem { throw Failure(description: "\(sendmail) -bt: \(problem)") }
        if run.timedOut {
            throw Failure(description: "\(sendmail) -bt did not finish within \(timeout) (a DNS lookup that waits? an unqualified host name?)")
        }
        let text = String(decoding: run.output, as: UTF8.self)
        // The banner, then one part per prompt.
        var parts = text.components(separatedByPrompt: "> ")
        if !parts.isEmpty { parts.removeFirst() }
        guard !parts.isEmpty || addresses.isEmpty else {
            let said = String(decoding: run.error, as: UTF8.self).mcTrimmed
            throw Failure(description: "\(sendmail) -bt -C \(configurationFile) answered nothing\(said.isEmpty ? "" : ": \(said)")")
        }
        return addresses.indices.map { index in
            guard index < parts.count else { return nil }
            return parts[index].split(separator: "\n").reversed().lazy.compactMap(Self.triple).first
        }
    }

    /// `mailer esmtp, host example.com, user foo@example.com` (the host is absent for local).
    static func triple(_ line: Substring) -> Answer? {
        guard line.hasPrefix("mailer ") else { return nil }
        let rest = line.dropFirst("mailer ".count)
        guard let comma = rest.firstIndex(of: ",") else { return nil }
        let mailer = String(rest[..<comma])
        var tail = rest[rest.index(after: comma)...].drop { $0 == " " }
        var host = ""
        if tail.hasPrefix("host ") {
            guard let range = tail.firstRange(of: ", user ") else { return nil }
            host = String(tail[tail.index(tail.startIndex, offsetBy: 5)..<range.lowerBound])
            tail = tail[range.lowerBound...].dropFirst(2)
        }
        guard tail.hasPrefix("user ") else { return nil }
        return Answer(mailer: mailer, host: host, user: String(tail.dropFirst(5)))
    }
}

extension String {
    /// The text cut at each `prompt` that starts a line (or the text).
    func components(separatedByPrompt prompt: String) -> [String] {
        var parts: [String] = []
        var current = ""
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(line)
            while rest.hasPrefix(prompt) {
                parts.append(current)
                current = ""
                rest = rest.dropFirst(prompt.count)
            }
            current += rest + "\n"
        }
        parts.append(current)
        return parts
    }
}

/// A program run to its end with bytes on its standard input, its output and errors collected
/// (each at most ``maximumOutput`` bytes), killed when it outlives its time. Blocking: run it on
/// a thread pool.
enum ChildProcess {
    static let maximumOutput = 16 * 1024 * 1024

    struct Result {
        var status: Int32?
        var output: [UInt8] = []
        var error: [UInt8] = []
        var timedOut = false
        /// Why it could not be started.
        var problem: String?
    }

    static func run(_ argv: [String], input: [UInt8], timeout: Duration) -> Result {
        var result = Result()
        // A child that exits before reading all of its input must not end this process.
        _ = signal(SIGPIPE, SIG_IGN)
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else {
            result.problem = "cannot make pipes: \(String(cString: strerror(errno)))"
            for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
            return result
        }
        // Not inherited by other children this process starts meanwhile (the child gets its ends
        // through dup2, which clears the flag).
        for fd in stdinPipe + stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        let arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in arguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, arguments, environ)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            result.problem = "cannot run \(argv[0]): \(String(cString: strerror(spawned)))"
            return result
        }
        var writeFD: Int32 = stdinPipe[1]
        var readFDs: [Int32] = [stdoutPipe[0], stderrPipe[0]]
        for fd in [writeFD] + readFDs { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        if input.isEmpty {
            close(writeFD)
            writeFD = -1
        }
        var written = 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while writeFD >= 0 || !readFDs.isEmpty {
            let left = clock.now.duration(to: deadline)
            if left <= .zero {
                result.timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var fds = readFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writeFD >= 0 { fds.append(pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)) }
            let milliseconds = Int32(min(left.components.seconds * 1000 + Int64(left.components.attoseconds / 1_000_000_000_000_000), 1000))
            let ready = poll(&fds, nfds_t(fds.count), max(milliseconds, 1))
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == writeFD {
                    let count = input[written...].withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
                    if count > 0 { written += count }
                    if count < 0, errno != EAGAIN, errno != EINTR { written = input.count }
                    if written >= input.count {
                        close(writeFD)
                        writeFD = -1
                    }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if entry.fd == stdoutPipe[0] {
                        if result.output.count < maximumOutput { result.output += buffer[0..<count] }
                    } else if result.error.count < maximumOutput {
                        result.error += buffer[0..<count]
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    close(entry.fd)
                    readFDs.removeAll { $0 == entry.fd }
                }
            }
        }
        if writeFD >= 0 { close(writeFD) }
        for fd in readFDs { close(fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        if (status & 0x7F) == 0 { result.status = (status >> 8) & 0xFF }
        return result
    }
}
