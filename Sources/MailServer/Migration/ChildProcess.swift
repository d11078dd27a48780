#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
