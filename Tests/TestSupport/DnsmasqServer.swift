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
