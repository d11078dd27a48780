import Foundation
import MailAuth
import TestSupport

/// Cyrus SASL's own `sasl-sample-server` (sasl2-bin) as a separate process: it prints its
/// challenges as `S: <base64>` lines and reads `C: <base64>` lines, so a client mechanism can be
/// driven against it exactly as against a remote server. Its configuration comes from a private
/// `sample.conf` found through `SASL_CONF_PATH` (sasldb_path pointing at the test's sasldb2).
enum CyrusSampleServer {
    struct Outcome: Sendable {
        let succeeded: Bool
        let userName: String?
        let output: String
    }

    /// Runs one exchange of `mechanism` with `client`; blocking, so call it through `offThread`.
    static func run(
        mechanism: SASLMechanismName, client: any SASLClientMechanism, fixture: CyrusFixture
    ) throws -> Outcome {
        var client = client
        let configuration = try fixture.directory.write(
            "sample.conf",
            "sasldb_path: \(fixture.sasldbPath)\npwcheck_method: auxprop\nscram_iteration_counter: 4096\n")
        guard let server = ExternalTool.find("sasl-sample-server"), let stdbuf = ExternalTool.find("stdbuf") else {
            throw TestSupportError("sasl-sample-server is not installed (run scripts/bootstrap)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: stdbuf)
        // stdbuf: the sample server never flushes, and its challenges must reach us line by line.
        process.arguments = [
            "-oL", server, "-s", "smtp", "-m", mechanism.rawValue, "-d", CyrusFixture.serverName, "-u",
            CyrusFixture.serverName,
        ]
        process.environment = ["SASL_CONF_PATH": (configuration as NSString).deletingLastPathComponent, "PATH": "/usr/bin:/bin"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // A watchdog: whatever happens, the server is gone after 30 seconds.
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 30) { kill(pid, SIGKILL) }
        defer {
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        let reader = LineReader(output.fileHandleForReading)
        var transcript: [String] = []
        func send(_ bytes: [UInt8]) {
            let line = "C: \(Data(bytes).base64EncodedString())\n"
            transcript.append(line.trimmingCharacters(in: .newlines))
            input.fileHandleForWriting.write(Data(line.utf8))
        }
        // The mechanism list, then the chosen mechanism with the initial response after a NUL.
        while let line = reader.next(), !line.hasPrefix("S: ") { transcript.append(line) }
        let initial = try client.start()
        send(Array(mechanism.rawValue.utf8) + (initial.map { [0] + $0 } ?? []))
        while let line = reader.next() {
            transcript.append(line)
            if line.hasPrefix("S: ") {
                guard let challenge = Data(base64Encoded: String(line.dropFirst(3))) else {
                    throw TestSupportError("sasl-sample-server sent bad base64: \(line)")
                }
                // This is offThread's thread: waiting here for the async step blocks no one.
                let current = client
                let (next, response) = try waitOnThisThread { () async throws -> (any SASLClientMechanism, [UInt8]) in
                    var mechanism = current
                    let response = try await mechanism.step(Array(challenge))
                    return (mechanism, response)
                }
                client = next
                send(response)
            } else if line == "Negotiation complete" {
                let user = reader.next().flatMap { $0.hasPrefix("Username: ") ? String($0.dropFirst(10)) : nil }
                try client.finish(additionalData: nil)
                return Outcome(succeeded: true, userName: user, output: transcript.joined(separator: "\n"))
            }
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Outcome(succeeded: false, userName: nil, output: (transcript + [stderr]).joined(separator: "\n"))
    }
}

/// Lines from a pipe, read as they come.
final class LineReader {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
