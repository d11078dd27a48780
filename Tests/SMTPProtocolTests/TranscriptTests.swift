import Foundation
import Testing

/// Golden session transcripts (Transcripts/*.txt) replayed through the server state machine, each
/// client write fed whole and then byte by byte: both must reproduce the file exactly.
@Suite("Golden server session transcripts")
struct TranscriptTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test("the transcript folder holds the sessions the issue lists")
    func coverage() {
        for name in ["plain", "pipelined", "partial-recipients", "rset", "bdat", "auth-initial-response",
                     "auth-cancel", "starttls-injection", "starttls-handshake-injection", "line-limits", "line-limits-extensions",
                     "long-echo", "bare-lf-in-data", "bdat-malformed", "bdat-overlong", "bdat-failed-then-rcpt",
                     "bdat-line-length", "policy-421", "reply-and-close", "lmtp-errors", "utf8-echo", "timeout",
                     "timeout-handshake", "pipelining-flush",
                     "smuggling-crlf-dot-lf", "smuggling-lf-dot-crlf", "too-many-recipients", "unknown-flood"] {
            #expect(Self.names.contains("\(name).txt"), "missing transcript \(name).txt")
        }
    }

    @Test("replays reproduce the transcript", arguments: TranscriptTests.names)
    func replay(name: String) throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        let runner = try TranscriptRunner(text: text)
        if ProcessInfo.processInfo.environment["SWIFTMTA_REWRITE_TRANSCRIPTS"] == "1" {
            // A developer's tool, after a deliberate change: keep the header (comments and
            // directives), replace the session by what the machine does now. Review the diff.
            let header: [String] = text.split(separator: "\n", omittingEmptySubsequences: false)
                .prefix { $0.hasPrefix("#") || $0.hasPrefix("@") }.map(String.init)
            let rewritten: String = (header + runner.replay(byteByByte: false)).joined(separator: "\n") + "\n"
            try rewritten.write(to: Self.folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
            return
        }
        for byteByByte in runner.directives.wholeWritesOnly ? [false] : [false, true] {
            // Flush points depend on how the bytes arrive: checked for whole writes only.
            let produced = runner.replay(byteByByte: byteByByte).filter { !byteByByte || !$0.hasPrefix("F:") }
            let expected = runner.expected.filter { !byteByByte || !$0.hasPrefix("F:") }
            if produced != expected {
                let diff = zip(expected + Array(repeating: "<none>", count: max(0, produced.count - expected.count)),
                               produced + Array(repeating: "<none>", count: max(0, expected.count - produced.count)))
                    .enumerated().first { $0.element.0 != $0.element.1 }
                Issue.record("""
                    \(name) (\(byteByByte ? "byte by byte" : "whole writes")) differs at line \((diff?.offset ?? 0) + 1):
                      expected: \(diff?.element.0 ?? "")
                      produced: \(diff?.element.1 ?? "")
                    whole replay:
                    \(produced.joined(separator: "\n"))
                    """)
            }
        }
    }
}
