#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The write end of the pipe the signal handler writes to; made before the handler is installed.
private let signalPipe: (read: Int32, write: Int32) = {
    var descriptors: [Int32] = [-1, -1]
    _ = pipe(&descriptors)
    for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    return (descriptors[0], descriptors[1])
}()

/// SIGTERM and SIGINT as an async sequence, for `swiftmta serve`'s graceful shutdown.
///
/// The handler only writes the signal's number to a pipe (the one thing a handler may safely
/// do); a thread of its own reads the pipe and hands the number to the awaiting task. Both
/// signals are unblocked on that thread, so they arrive even when the process was started with
/// them blocked (as children of some threads are).
final class SignalWatcher: Sendable {
    static let shared = SignalWatcher()

    private let stream: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation

    private init() {
        (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        _ = signalPipe
        for signal in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipe.write, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { argument in
            let watcher = Unmanaged<SignalWatcher>.fromOpaque(argument!).takeRetainedValue()
            SignalWatcher.unblockSignals()
            watcher.readSignals()
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
        Self.unblockSignals()
    }

    private static func unblockSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    private func readSignals() {
        var byte: UInt8 = 0
        while true {
            let count = read(signalPipe.read, &byte, 1)
            if count == 1 {
                continuation.yield(Int32(byte))
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// The next signal received, or `nil` when the task is cancelled.
    func next() async -> Int32? {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }
}
