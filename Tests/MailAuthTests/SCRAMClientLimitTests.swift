import MailAuth
import Testing

/// The SCRAM client computes PBKDF2 for the count the server chooses (RFC 5802 §5.1): on the
/// key-derivation pool, and never more than ``SASLLimits/maximumSCRAMIterations``.
@Suite("SCRAM client: the iteration cap a server cannot raise")
struct SCRAMClientLimitTests {
    @Test("the default cap is 100,000: a server asking one more is refused before any work", arguments: [
        (100_000, true), (100_001, false), (1_000_000, false),
    ])
    func cap(iterations: Int, accepted: Bool) async throws {
        #expect(SASLLimits.default.maximumSCRAMIterations == 100_000)
        var client = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: SASLClientCredentials(authenticationIdentity: "user", password: "pencil"))
        let first = String(decoding: try #require(try client.start()), as: UTF8.self)
        let nonce = String(first.split(separator: "r=").last!)
        let serverFirst = Array("r=\(nonce)srv,s=QSXCR+Q6sek8bf92,i=\(iterations)".utf8)
        if accepted {
            let final = String(decoding: try await client.step(serverFirst), as: UTF8.self)
            #expect(final.hasPrefix("c=biws,r=\(nonce)srv,p="))
        } else {
            let error = await #expect(throws: SASLError.self) { try await client.step(serverFirst) }
            #expect(error?.kind == .serverAuthenticationFailed)
            #expect(error?.message == "the server asks for \(iterations) iterations, outside 4096...100000")
        }
    }
}
