import Foundation

/// A TCP client for scripted exchanges in tests: send raw bytes, read CRLF lines.
///
/// The socket calls block, so every method runs them on a thread of its own (``offThread(_:)``);
/// calls must not overlap.
public final class LineClient: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads time out after `timeout` (a hang guard: a full test run
    /// on a loaded 2-core machine can starve the process for tens of seconds).
    public convenience init(port: Int, timeout: Duration = .seconds(60)) async throws {
        let fd = try await offThread { try Self.connect(port: port, timeout: timeout) }
        self.init(fd: fd)
    }

    private init(fd: Int32) {
        self.fd = fd
    }

    private static func connect(port: Int, timeout: Duration) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSupportError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `text` exactly as given (the caller writes the CRLFs).
    public func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends raw bytes.
    public func send(_ bytes: [UInt8]) async throws {
        try await offThread { try self.sendBlocking(bytes) }
    }

    /// The next line, without its CRLF.
    public func readLine() async throws -> String {
        try await offThread { try self.readLineBlocking() }
    }

    /// A whole reply: every line of a multi-line reply, joined with newlines.
    public func readReply() async throws -> String {
        try await offThread { try self.readReplyBlocking() }
    }

    /// Everything until the server closes the connection.
    public func readToEnd() async throws -> String {
        try await offThread { try self.readToEndBlocking() }
    }

    private func sendBlocking(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestSupportError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    private func readLineBlocking() throws -> String {
        while true {
            if let index = pending.firstIndex(of: UInt8(ascii: "\n")), index > 0, pending[index - 1] == UInt8(ascii: "\r") {
                let line = String(decoding: pending[..<(index - 1)], as: UTF8.self)
                pending.removeSubrange(...index)
                return line
            }
            guard try fill() else { throw TestSupportError("connection closed before a full line; have \(String(decoding: pending, as: UTF8.self))") }
        }
    }

    private func readReplyBlocking() throws -> String {
        var lines: [String] = []
        while true {
            let line = try readLineBlocking()
            lines.append(line)
            let bytes = Array(line.utf8)
            if bytes.count < 4 || bytes[3] != UInt8(ascii: "-") { return lines.joined(separator: "\n") }
        }
    }

    private func readToEndBlocking() throws -> String {
        while try fill() {}
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private func fill() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw TestSupportError("recv: \(String(cString: strerror(errno)))") }
        if count == 0 { return false }
        pending.append(contentsOf: buffer[..<count])
        return true
    }

    deinit {
        close(fd)
    }
}
