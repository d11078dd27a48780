import Foundation

/// A private DNS server (dnsmasq) on a free loopback port, answering only the records a test
/// gives: no upstream servers, no /etc/hosts, and NXDOMAIN for any other name in the zones named
/// local (`--local=/zone/`).
///
/// Like ``SlapdServer``, it runs under a shell watchdog that kills it when the test process goes
/// away, and it is stopped with SIGKILL.
public final class DnsmasqServer: @unchecked Sendable {
    public private(set) var port: Int
    public let directory: TemporaryDirectory
    private var process: BackgroundProcess?
    private var arguments: [String] = []

    /// Starts dnsmasq with `records`: dnsmasq options such as `--mx-host=example.test,mx1.example.test,10`,
    /// `--host-record=mx1.example.test,192.0.2.1`, `--txt-record=…`, `--dns-rr=name,52,hex`, and
    /// `--local=/example.test/` for the zones whose other names do not exist.
    /// With `alsoIPv6`, dnsmasq listens on `::1` too (same port).
    public init(records: [String], alsoIPv6: Bool = false) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-dnsmasq")
        port = 0
        // A free port can be taken by another test process between the check and dnsmasq's bind
        // (several test runs share this machine): then try another one.
        for attempt in 1...3 {
            port = try LoopbackPort.free()
            arguments = [
                "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
                "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
                "--user=\(Self.unprivilegedUser)", "--log-facility=\(directory.file("dnsmasq.log"))",
            ] + (alsoIPv6 ? ["--listen-address=::1"] : []) + records
            do {
                try start()
                return
            } catch where attempt < 3 {
                continue
            }
        }
    }

    /// The user dnsmasq drops to when started as root.
    private static var unprivilegedUser: String {
        getuid() == 0 ? "nobody" : (ProcessInfo.processInfo.environment["USER"] ?? "nobody")
    }

    /// `127.0.0.1:port`, as a nameserver setting.
    public var address: String { "127.0.0.1:\(port)" }

    /// Starts dnsmasq (again), as a ``BackgroundProcess``, and waits until it answers on TCP.
    public func start() throws {
        guard process == nil else { return }
        let process = try BackgroundProcess("dnsmasq", arguments)
        self.process = process
        do {
            try LoopbackPort.waitUntilAccepting(port)
        } catch {
            stop()
            let log = (try? String(contentsOfFile: directory.file("dnsmasq.log"), encoding: .utf8)) ?? ""
            throw TestSupportError("dnsmasq did not start on port \(port): \(error) \(process.output()) \(log)")
        }
    }

    /// Stops dnsmasq (SIGKILL) and its watchdog.
    public func stop() {
        process?.stop()
        process = nil
    }

    deinit {
        stop()
    }
}
