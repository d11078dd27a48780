import Foundation

/// A private DNS server (dnsmasq) on a free loopback port, answering only the records a test
/// gives: no upstream servers, no /etc/hosts, and NXDOMAIN for any other name in the zones named
/// local (`--local=/zone/`).
///
/// Like ``SlapdServer``, it runs under a shell watchdog that kills it when the test process goes
/// away, and it is stopped with SIGKILL.
public final class DnsmasqServer: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private var process: Process?
    private let arguments: [String]

    /// Starts dnsmasq with `records`: dnsmasq options such as `--mx-host=example.test,mx1.example.test,10`,
    /// `--host-record=mx1.example.test,192.0.2.1`, `--txt-record=…`, `--dns-rr=name,52,hex`, and
    /// `--local=/example.test/` for the zones whose other names do not exist.
    /// With `alsoIPv6`, dnsmasq listens on `::1` too (same port).
    public init(records: [String], alsoIPv6: Bool = false) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-dnsmasq")
        port = try LoopbackPort.free()
        arguments = [
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
            "--user=\(Self.unprivilegedUser)", "--log-facility=\(directory.file("dnsmasq.log"))",
        ] + (alsoIPv6 ? ["--listen-address=::1"] : []) + records
        try start()
    }

    /// The user dnsmasq drops to when started as root.
    private static var unprivilegedUser: String {
        getuid() == 0 ? "nobody" : (ProcessInfo.processInfo.environment["USER"] ?? "nobody")
    }

    /// `127.0.0.1:port`, as a nameserver setting.
    public var address: String { "127.0.0.1:\(port)" }

    /// Starts dnsmasq (again) and waits until it answers on TCP.
    public func start() throws {
        guard process == nil else { return }
        guard let dnsmasq = ExternalTool.find("dnsmasq") else {
            throw TestSupportError("dnsmasq is not installed (run scripts/bootstrap)")
        }
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", """
            \(dnsmasq) \(quoted) </dev/null >/dev/null 2>\(directory.file("stderr")) &
            child=$!
            echo $child > '\(directory.file("dnsmasq.pid"))'
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.2; done
            kill -9 $child 2>/dev/null
            """]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        do {
            try LoopbackPort.waitUntilAccepting(port)
        } catch {
            let log = (try? String(contentsOfFile: directory.file("stderr"), encoding: .utf8)) ?? ""
            stop()
            throw TestSupportError("dnsmasq did not start on port \(port): \(error) \(log)")
        }
    }

    /// Stops dnsmasq (SIGKILL) and its watchdog.
    public func stop() {
        guard let process else { return }
        if let text = try? String(contentsOfFile: directory.file("dnsmasq.pid"), encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
    }
}

/// A UDP and TCP port on loopback where nothing answers: queries sent there time out. The UDP
/// socket is bound (so the kernel sends no ICMP "port unreachable") and never read.
public final class SilentUDPPort: @unchecked Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestSupportError("bind: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}
