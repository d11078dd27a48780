import Foundation

/// A TCP server on loopback that accepts every connection and never answers: an LDAP (or any)
/// server that hangs. The listening socket's backlog takes the connections and a thread of its
/// own accepts them and keeps them open, unread, until ``stop()``.
public final class SilentTCPServer: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var accepted: [Int32] = []
    private var stopped = false

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 512) == 0 else {
            close(descriptor)
            throw TestSupportError("bind/listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.stackSize = 1 << 18
        thread.start()
    }

    /// `ldap://127.0.0.1:port`.
    public var ldapURI: String { "ldap://127.0.0.1:\(port)" }

    /// How many connections were accepted so far.
    public var connections: Int { lock.withLock { accepted.count } }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return  // the listener was closed
            }
            let keep = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                accepted.append(connection)
                return true
            }
            if !keep {
                close(connection)
                return
            }
        }
    }

    /// Closes the listener and every connection (clients see the server go away).
    public func stop() {
        let open = lock.withLock { () -> [Int32]? in
            guard !stopped else { return nil }
            stopped = true
            defer { accepted.removeAll() }
            return accepted
        }
        // Once only: a second close of the listener (stop() then deinit) closed whatever
        // descriptor had been given that number since — another test's socket or spool file.
        guard let open else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for connection in open { close(connection) }
    }

    deinit { stop() }
}
