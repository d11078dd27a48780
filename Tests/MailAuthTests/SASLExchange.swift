import MailAuth
import TestSupport
import Testing

/// Runs a client mechanism against a server mechanism in memory the way an SMTP session carries
/// them (RFC 4954 §4): the initial response with AUTH (or in answer to an empty 334), challenges
/// and responses, and additional data with success sent as one more 334 answered by an empty line.
enum SASLExchange {
    /// What crossed the "wire", for checks on the exchange's shape.
    struct Transcript {
        var lines: [String] = []
    }

    @discardableResult
    static func run(
        client: inout any SASLClientMechanism, server: inout any SASLServerMechanism,
        initialResponseInline: Bool = true, transcript: UnsafeMutablePointer<Transcript>? = nil
    ) async throws -> SASLAuthentication {
        var lines: [String] = []
        defer { transcript?.pointee.lines = lines }
        let initial = try await onOwnThread(&client) { try $0.start() }
        var step: SASLServerStep
        if let initial, !initialResponseInline {
            lines.append("C: AUTH \(client.name)")
            step = try await server.start(initialResponse: nil)
            guard case .challenge(let empty) = step, empty.isEmpty else {
                Issue.record("the server did not ask for the initial response with an empty challenge")
                throw SASLError(.invalidState, "no empty challenge")
            }
            lines.append("S: 334 ")
            lines.append("C: \(render(initial))")
            step = try await server.step(initial)
        } else {
            lines.append("C: AUTH \(client.name)" + (initial.map { " " + render($0) } ?? ""))
            step = try await server.start(initialResponse: initial)
        }
        for _ in 0..<10 {
            switch step {
            case .challenge(let challenge):
                lines.append("S: 334 \(render(challenge))")
                let response = try await client.step(challenge)
                lines.append("C: \(render(response))")
                step = try await server.step(response)
            case .success(let outcome, let additionalData):
                if let additionalData {
                    lines.append("S: 334 \(render(additionalData))")
                    let response = try await client.step(additionalData)
                    lines.append("C: \(render(response))")
                    #expect(response.isEmpty, "the client must answer additional data with an empty response")
                }
                lines.append("S: 235")
                _ = try await onOwnThread(&client) { try $0.finish(additionalData: nil) }
                return outcome
            }
        }
        throw SASLError(.malformed, "the exchange did not end within 10 rounds")
    }

    /// Runs a client call on a thread of its own: libsasl2's client calls may block, and other
    /// tests in this process run servers that need the cooperative pool. (Steps are async and run
    /// SCRAM's PBKDF2 on MailAuth's key-derivation pool themselves.)
    private static func onOwnThread<T: Sendable>(
        _ client: inout any SASLClientMechanism, _ body: @escaping @Sendable (inout any SASLClientMechanism) throws -> T
    ) async throws -> T {
        let copy = client
        let (updated, result) = try await offThread { () throws -> (any SASLClientMechanism, T) in
            var mechanism = copy
            let result = try body(&mechanism)
            return (mechanism, result)
        }
        client = updated
        return result
    }

    private static func render(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: "^") : $0 }, as: UTF8.self)
    }
}

/// A password file in memory for tests: a real ``SASLPasswordFile`` parsed from text.
func passwordFile(_ lines: String...) throws -> SASLPasswordFile {
    try SASLPasswordFile(contents: lines.joined(separator: "\n"), path: "test-passwd")
}
