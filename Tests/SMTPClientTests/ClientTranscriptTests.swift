import Foundation
import Testing

/// The golden client transcripts in Transcripts/: each replayed through SMTPClientStateMachine
/// and compared line by line.
@Suite("Client state machine transcripts")
struct ClientTranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test("transcript", arguments: names)
    func transcript(_ name: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        let runner = try ClientTranscriptRunner(text: text)
        let actual = runner.replay()
        if actual != runner.expected {
            var differences: [String] = []
            for index in 0..<max(actual.count, runner.expected.count) {
                let wanted = index < runner.expected.count ? runner.expected[index] : "(nothing)"
                let got = index < actual.count ? actual[index] : "(nothing)"
                if wanted != got { differences.append("line \(index + 1): expected «\(wanted)» got «\(got)»") }
            }
            let rendered = actual.joined(separator: "\n")
            Issue.record("\(name) differs:\n\(differences.prefix(8).joined(separator: "\n"))\n--- actual:\n\(rendered)")
        }
    }

    @Test("there are transcripts to replay")
    func present() {
        #expect(Self.names.count >= 10)
    }
}
