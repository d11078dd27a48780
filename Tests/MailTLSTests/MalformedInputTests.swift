import MailTLS
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

extension MailTLSSuite {
    /// Bad input of every kind gets a clear error, never a crash or a hang: mutated and random bytes
    /// fed to the handlers, and malformed TLSA text. A seeded generator keeps every run the same.
    @Suite("Malformed input")
    struct MalformedInputTests {
        /// xorshift64*, seeded: the same cases every run.
        struct Generator: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                return state &* 2_685_821_657_736_338_717
            }
        }

        @Test("mutated ClientHellos and random records fail the handshake with a TLSError")
        func mutatedHandshakes() async throws {
            let pki = try await TestPKI.sharedOffThread()
            // Three hundred handshakes are real work: done on a thread of their own (EmbeddedChannels
            // stay on the thread that made them), the findings checked here.
            let (failures, problems) = try await offThread { try Self.mutate(pki: pki) }
            #expect(problems.isEmpty, "\(problems)")
            #expect(failures > 100)
        }

        /// Feeds 300 mutated or random hellos to fresh server handlers; returns how many failed the
        /// handshake and what went wrong.
        private static func mutate(pki: TestPKI) throws -> (failures: Int, problems: [String]) {
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            // A real ClientHello to mutate.
            let client = EmbeddedChannel()
            try client.pipeline.syncOperations.addHandler(
                TLSHandler(clientContext: clientContext, serverName: "mx.example.test", verification: .none))
            try client.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 25)).wait()
            guard var hello = try client.readOutbound(as: ByteBuffer.self) else { return (0, ["no ClientHello"]) }
            let clientHello = hello.readBytes(length: hello.readableBytes) ?? []
            _ = try? client.finish(acceptAlreadyClosed: true)

            var generator = Generator(state: 0x5EED_5EED_5EED_5EED)
            var failures = 0
            var problems: [String] = []
            for round in 0..<300 {
                var bytes: [UInt8]
                switch round % 3 {
                case 0:
                    bytes = clientHello
                    for _ in 0..<Int.random(in: 1...8, using: &generator) {
                        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                    }
                case 1:
                    bytes = Array(clientHello.prefix(Int.random(in: 5..<clientHello.count, using: &generator)))
                    bytes += (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                default:
                    let length = Int.random(in: 0...2000, using: &generator)
                    bytes = [0x16, 0x03, 0x01, UInt8(length >> 8), UInt8(length & 0xFF)]
                    bytes += (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                }
                let server = EmbeddedChannel()
                let promise = server.eventLoop.makePromise(of: TLSSessionFacts.self)
                try server.pipeline.syncOperations.addHandler(TLSHandler(serverContext: serverContext, handshakePromise: promise))
                try server.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 25)).wait()
                do {
                    try server.writeInbound(ByteBuffer(bytes: bytes))
                } catch {
                    if !(error is TLSError) { problems.append("round \(round): \(error)") }
                }
                switch InMemoryPair.outcome(promise) {
                case .failure(let error)?:
                    failures += 1
                    if !(error is TLSError) { problems.append("round \(round): \(error) is not a TLSError") }
                    if server.isActive { problems.append("round \(round): a failed handshake left the connection open") }
                case .success?:
                    problems.append("round \(round): a mutated hello completed a handshake")
                case nil:
                    // Still waiting for more bytes: a truncated hello is not an error yet. The
                    // handshake timeout ends such a connection.
                    server.embeddedEventLoop.advanceTime(by: .seconds(301))
                    if case .failure(let error as TLSError)? = InMemoryPair.outcome(promise), error.kind == .handshakeTimedOut {
                        break
                    }
                    problems.append("round \(round): the handshake neither failed nor timed out")
                }
                _ = try? server.finish(acceptAlreadyClosed: true)
            }
            return (failures, problems)
        }

        @Test("random records after the handshake end the connection with a protocol error")
        func randomRecords() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            var generator = Generator(state: 0xC0FF_EE00_C0FF_EE00)
            for round in 0..<20 {
                let pair = try InMemoryPair(
                    client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .none, handshakePromise: $0) },
                    server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
                defer { pair.finish() }
                pair.interact()
                let length = Int.random(in: 1...300, using: &generator)
                var record: [UInt8] = [0x17, 0x03, 0x03, UInt8(length >> 8), UInt8(length & 0xFF)]
                record += (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let error = #expect(throws: TLSError.self, "round \(round)") {
                    try pair.server.writeInbound(ByteBuffer(bytes: record))
                }
                #expect(error?.kind == .protocolError)
                #expect(!pair.server.isActive)
            }
        }

        @Test("random TLSA text is parsed or refused with a TLSError, never more")
        func randomTLSAText() {
            var generator = Generator(state: 0x7157_A000_7157_A000)
            let alphabet = Array("0123456789abcdefABCDEFxyz \t-+.")
            for _ in 0..<2000 {
                let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
                do {
                    let record = try TLSARecord(presentation: text)
                    #expect(!record.data.isEmpty)
                } catch {
                    #expect(error is TLSError)
                }
            }
        }
    }
}
