import Foundation
import Synchronization
import TestSupport

/// A saslauthd socket that accepts connections and never answers: libsasl2's saslauthd client then
/// blocks in read(2) on the thread that called it, which makes that thread visible in
/// /proc/self/task. ``release()`` closes every connection, and the blocked calls fail.
final class HungSaslauthd: @unchecked Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    private let acceptor: Acceptor

    /// What the accepting thread shares with the fixture (the thread holds this, not the fixture,
    /// so that the fixture's deinit runs and stops it).
    private final class Acceptor: @unchecked Sendable {
        let listener: Int32
        let accepted = Mutex<[Int32]>([])
        let stopped = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)

        init(listener: Int32) { self.listener = listener }

        func run() {
            defer { finished.signal() }
            while !stopped.load(ordering: .acquiring) {
                var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let connection = accept(listener, nil, nil)
                if connection >= 0 { accepted.withLock { $0.append(connection) } }
            }
        }

        func closeAccepted() {
            let descriptors = accepted.withLock { held in
                defer { held.removeAll() }
                return held
            }
            for descriptor in descriptors { close(descriptor) }
        }
    }

    init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-hung")
        socketPath = directory.file("mux")
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8CString)
        guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(listener)
            throw TestSupportError("socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.withUnsafeBytes { raw.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw TestSupportError("bind/listen \(socketPath): \(String(cString: strerror(errno)))")
        }
        let acceptor = Acceptor(listener: listener)
        self.acceptor = acceptor
        Thread { acceptor.run() }.start()
    }

    deinit {
        stop()
    }

    /// How many connections are being held.
    var connections: Int { acceptor.accepted.withLock { $0.count } }

    /// Closes every held connection: the blocked reads return end-of-file.
    func release() {
        acceptor.closeAccepted()
    }

    /// Stops accepting, closes everything and waits for the accepting thread.
    func stop() {
        guard !acceptor.stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        acceptor.finished.wait()
        acceptor.closeAccepted()
        close(acceptor.listener)
    }
}

/// The threads of this process, as /proc/self/task shows them.
enum ProcessThreads {
    /// The kernel's id of the calling thread (/proc/thread-self names it: `PID/task/TID`).
    static func currentID() -> Int {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return link.split(separator: "/").last.flatMap { Int($0) } ?? -1
    }

    /// The threads blocked in read(2) (x86_64 syscall 0, aarch64 63) on a Unix-domain socket.
    static func blockedReadingUnixSockets() -> Set<Int> {
        #if arch(x86_64)
        let readCall = "0"
        #else
        let readCall = "63"
        #endif
        var blocked = Set<Int>()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks {
            guard let id = Int(task),
                  let call = try? String(contentsOfFile: "/proc/self/task/\(task)/syscall", encoding: .utf8)
            else { continue }
            let fields = call.split(separator: " ")
            guard fields.count > 1, fields[0] == readCall, let descriptor = Int32(fields[1].dropFirst(2), radix: 16) else { continue }
            // The descriptor is this process's own: ask it for its address family.
            var domain: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(descriptor, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0, domain == AF_UNIX {
                blocked.insert(id)
            }
        }
        return blocked
    }
}

/// Thread ids collected from several tasks.
final class ThreadRecorder: Sendable {
    private let ids = Mutex<Set<Int>>([])

    func recordCurrent() {
        let id = ProcessThreads.currentID()
        ids.withLock { _ = $0.insert(id) }
    }

    var recorded: Set<Int> { ids.withLock { $0 } }
}
