import Foundation
import TestSupport

/// A private saslauthd (Cyrus's password-checking daemon, sasl2-bin) on a socket in a temporary
/// directory, checking passwords with its `rimap` backend against a minimal IMAP LOGIN responder
/// on loopback that knows one user. saslauthd, its socket protocol and libsasl2's saslauthd client
/// are the real ones; only the IMAP server behind saslauthd is a stand-in (no IMAP server is
/// installed here). Both run under watchdogs that kill them when the test process goes away.
final class SaslauthdFixture: @unchecked Sendable {
    static let user = "carol", password = "imap-secret"

    let directory: TemporaryDirectory
    let imapPort: Int
    private var processes: [Process] = []

    var socketPath: String { directory.file("mux") }

    /// Starts both daemons; blocking, so call it through `offThread`. With `holdsFailures` the IMAP
    /// responder answers a wrong password only once ``releaseFailures()`` was called (as PAM and IMAP
    /// servers delay failures, but at the test's word rather than after a time, so that a loaded
    /// machine cannot reorder what the test checks), and saslauthd runs `workers` processes
    /// (0: one per request).
    init(holdsFailures: Bool = false, workers: Int = 1) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-saslauthd")
        imapPort = try LoopbackPort.free()
        let responder = try directory.write("imap.py", """
            import os, socketserver, sys, time
            def log(what):
                with open(sys.argv[2], "a") as f:
                    f.write(what + "\\n")
            class Login(socketserver.StreamRequestHandler):
                def handle(self):
                    self.wfile.write(b"* OK IMAP4rev1 ready\\r\\n")
                    for line in self.rfile:
                        words = line.decode("utf-8", "replace").split()
                        if len(words) >= 4 and words[1].upper() == "LOGIN":
                            good = words[2].strip('"') == "\(Self.user)" and words[3].strip('"') == "\(Self.password)"
                            log("LOGIN")
                            if not good and \(holdsFailures ? "True" : "False"):
                                while not os.path.exists(sys.argv[3]):
                                    time.sleep(0.02)
                            log("ANSWERED")
                            self.wfile.write((words[0] + (" OK LOGIN done\\r\\n" if good else " NO LOGIN failed\\r\\n")).encode())
                        elif len(words) >= 2 and words[1].upper() == "LOGOUT":
                            self.wfile.write(b"* BYE\\r\\n" + words[0].encode() + b" OK\\r\\n")
                            return
                        else:
                            self.wfile.write(b"* BAD\\r\\n")
            socketserver.ThreadingTCPServer.allow_reuse_address = True
            socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Login).serve_forever()
            """)
        try start("python3 '\(responder)' \(imapPort) '\(directory.file("logins"))' '\(directory.file("release"))'")
        try LoopbackPort.waitUntilAccepting(imapPort)
        guard let saslauthd = ExternalTool.find("saslauthd") else {
            throw TestSupportError("saslauthd is not installed (run scripts/bootstrap)")
        }
        // -d keeps it in the foreground (a child of its watchdog); -m puts the socket here.
        try start("\(saslauthd) -d -a rimap -O 127.0.0.1/\(imapPort) -m '\(directory.path)' -n \(workers)")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard ContinuousClock.now < deadline else { throw TestSupportError("saslauthd did not create \(socketPath)") }
            usleep(20_000)
        }
    }

    /// How many LOGIN commands the IMAP responder received, and how many it answered.
    var logins: (received: Int, answered: Int) {
        let lines = (try? String(contentsOfFile: directory.file("logins"), encoding: .utf8))?.split(separator: "\n") ?? []
        return (lines.filter { $0 == "LOGIN" }.count, lines.filter { $0 == "ANSWERED" }.count)
    }

    private func start(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // setsid: the daemon leads a process group of its own, so that its workers (saslauthd -n)
        // go with it.
        process.arguments = ["-c", """
            setsid \(command) </dev/null >/dev/null 2>&1 &
            child=$!
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $child 2>/dev/null && [ ! -e '\(stopFile)' ]; do sleep 0.1; done
            kill -9 -$child 2>/dev/null
            kill -9 $child 2>/dev/null
            """]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        processes.append(process)
    }

    /// Lets the IMAP responder answer the wrong passwords it holds, and those that come later.
    func releaseFailures() {
        _ = FileManager.default.createFile(atPath: directory.file("release"), contents: nil)
    }

    private var stopFile: String { directory.file("stop") }

    /// Stops both daemons: each watchdog sees the stop file and kills its own child (SIGKILL:
    /// children of Swift's threads may have SIGTERM blocked).
    func stop() {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        for process in processes { process.waitUntilExit() }
        processes.removeAll()
    }

    deinit { stop() }
}
