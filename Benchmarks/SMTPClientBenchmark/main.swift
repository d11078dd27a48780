// SMTPClient benchmark: messages per second into Postfix's smtp-sink, beside Postfix's own
// smtp-source sending the same messages to the same sink in the same run, reported as a ratio.
//
//   make bench-client                     (BENCH_ARGS="MESSAGES REPEATS SESSIONS")
//
// Both send MESSAGES messages of about 1 KB (a few header lines and a 1,000-octet body in lines of
// 80), one recipient each, over SESSIONS connections in parallel, each connection carrying its
// share of the messages (smtp-source -d); the best of REPEATS runs counts, the two clients
// alternating. smtp-source has no PIPELINING ("BUGS: No SMTP command pipelining support"): it
// waits for each reply. SMTPClient is measured twice: against a sink that offers PIPELINING (MAIL,
// RCPT and DATA in one write — the goal is at least 0.8 of smtp-source) and against one that does
// not (`smtp-sink -p`, the same exchange as smtp-source's); each both from an ordinary task and
// from a task that runs on the connection's event loop (SMTPClientConnection.taskExecutor), as a
// queue runner would.

import Foundation
import NIOCore
import SMTPClient
import SMTPProtocol

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let messages = arguments.count > 0 ? arguments[0] : 4000
let repeats = arguments.count > 1 ? arguments[1] : 3
let sessions = arguments.count > 2 ? arguments[2] : 1

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let postfix = root + "/.tools/postfix"
let environment = ["LD_LIBRARY_PATH": postfix + "/usr/lib/postfix"]

func freePort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func startSink(_ options: [String]) throws -> (Process, Int) {
    let port = freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: postfix + "/usr/sbin/smtp-sink")
    process.arguments = ["-u", "nobody"] + options + ["127.0.0.1:\(port)", "256"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: 0.3)
    return (process, port)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// smtp-source's run, as its wall-clock time.
func runSMTPSource(port: Int) throws -> Duration {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: postfix + "/usr/sbin/smtp-source")
    process.arguments = ["-d", "-s", "\(sessions)", "-m", "\(messages)", "-l", "1000", "-M", "client.example.test",
                         "-f", "alice@client.example.test", "-t", "bob@example.test", "127.0.0.1:\(port)"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    let start = ContinuousClock.now
    try process.run()
    process.waitUntilExit()
    let elapsed = ContinuousClock.now - start
    guard process.terminationStatus == 0 else { fatalError("smtp-source failed with \(process.terminationStatus)") }
    return elapsed
}

/// About what smtp-source sends: a few header lines, then 1,000 octets in lines of 80.
let body: ByteBuffer = {
    var text = "From: <alice@client.example.test>\r\nTo: <bob@example.test>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
    text += "Message-Id: <benchmark@client.example.test>\r\n\r\n"
    var payload = 0
    while payload < 1000 {
        let line = String(repeating: "x", count: min(78, 1000 - payload))
        text += line + "\r\n"
        payload += line.count + 2
    }
    return ByteBuffer(string: text)
}()

func runSMTPClient(port: Int, onEventLoop: Bool) async throws -> Duration {
    var settings = SMTPClientConfiguration(hostname: "client.example.test")
    settings.maximumMessagesPerConnection = messages
    settings.resetAfterIdle = nil
    let configuration = settings
    let envelope = SMTPEnvelope(
        reversePath: ReversePath(mailbox: try Mailbox(parsing: "alice@client.example.test")),
        recipients: [SMTPEnvelope.Recipient(ForwardPath(mailbox: try Mailbox(parsing: "bob@example.test")))])
    let destination = SMTPDestination.smartHost("127.0.0.1", port: port, tls: .none)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for session in 0..<sessions {
            let share = messages / sessions + (session < messages % sessions ? 1 : 0)
            group.addTask {
                let connection = try await SMTPClientConnection.open(to: destination, configuration: configuration)
                let executor: (any TaskExecutor)? = onEventLoop ? connection.taskExecutor : nil
                try await withTaskExecutorPreference(executor) {
                    for _ in 0..<share {
                        let result = try await connection.send(body, envelope: envelope)
                        precondition(result.allAccepted, "\(result)")
                    }
                }
                await connection.close()
            }
        }
        try await group.waitForAll()
    }
    return ContinuousClock.now - start
}

/// A line on standard output, at once (a pipe would hold it until exit).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

say("SMTPClient vs Postfix smtp-source into smtp-sink: \(messages) messages of ~1 KB, \(sessions) session(s), best of \(repeats)")
for (label, sinkOptions) in [("PIPELINING offered", [String]()), ("no PIPELINING (smtp-sink -p)", ["-p"])] {
    let (sink, port) = try startSink(sinkOptions)
    // SIGKILL: a child of Swift concurrency's threads may have SIGTERM blocked.
    defer { kill(sink.processIdentifier, SIGKILL) }
    var source = Duration.seconds(1_000_000), pooled = source, onLoop = source
    _ = try await runSMTPClient(port: port, onEventLoop: false)   // warm up
    for _ in 0..<repeats {
        source = min(source, try runSMTPSource(port: port))
        pooled = min(pooled, try await runSMTPClient(port: port, onEventLoop: false))
        onLoop = min(onLoop, try await runSMTPClient(port: port, onEventLoop: true))
    }
    let sourceRate = Double(messages) / seconds(source)
    for (variant, duration) in [("from a task", pooled), ("on the connection's event loop", onLoop)] {
        let clientRate = Double(messages) / seconds(duration)
        say(String(format: "%@, %@: smtp-source %.0f msg/s, SMTPClient %.0f msg/s, ratio %.2f",
                   label as NSString, variant as NSString, sourceRate, clientRate, clientRate / sourceRate))
    }
    kill(sink.processIdentifier, SIGKILL)
    sink.waitUntilExit()
}
