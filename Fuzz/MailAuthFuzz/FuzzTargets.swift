import Dispatch
import MailAuth

/// The fuzz targets for MailAuth: its parsers (DIGEST-MD5 directive lists, RFC 2831 §7.1; SCRAM
/// attribute lists and names, RFC 5802 §5, §7; hexadecimal), the client mechanisms fed a hostile
/// server's challenges, and the server mechanisms fed a hostile client's messages. Each must
/// neither crash, hang, nor grow memory without bound, and the round trips must hold. Selected by
/// name (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "directives": directives,
        "scram-attributes": scramAttributes,
        "hex": hex,
        "digest-client": digestClient,
        "scram-client": scramClient,
        "server": server,
    ]

    /// DIGEST-MD5 directives: what the encoder writes parses back to the same directives.
    static func directives(_ bytes: UnsafeRawBufferPointer) {
        guard let directives = try? DigestMD5Directives(parsing: Array(bytes)) else { return }
        var encoder = DigestMD5Directives()
        for entry in directives.entries { encoder.append(entry.name, quoted: entry.value) }
        guard let again = try? DigestMD5Directives(parsing: encoder.encoded) else {
            preconditionFailure("encoded directives do not parse")
        }
        precondition(
            again.entries.count == directives.entries.count
                && zip(again.entries, directives.entries).allSatisfy { $0.name == $1.name && $0.value == $1.value },
            "directives do not round-trip")
    }

    /// SCRAM attributes, and the `saslname` escapes of every value that decodes as UTF-8.
    static func scramAttributes(_ bytes: UnsafeRawBufferPointer) {
        guard let attributes = try? SCRAMAttributes(parsing: Array(bytes)) else { return }
        for entry in attributes.entries {
            guard let name = SCRAMAttributes.decodeName(entry.value) else { continue }
            let text = String(decoding: name, as: UTF8.self)
            if Array(text.utf8) == name {
                precondition(SCRAMAttributes.decodeName(SCRAMAttributes.encodeName(text)) == name, "saslname does not round-trip")
            }
        }
    }

    /// Hexadecimal, as CRAM-MD5 and DIGEST-MD5 write digests.
    static func hex(_ bytes: UnsafeRawBufferPointer) {
        guard let octets = Bytes.unhex(Array(bytes)) else { return }
        precondition(Bytes.unhex(Array(Bytes.hex(octets).utf8)) == octets, "hex does not round-trip")
    }

    /// The input as messages: each one a length octet and that many octets (a short last one is
    /// taken as it is).
    static func messages(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let length = Int(bytes[offset])
            let end = min(bytes.count, offset + 1 + length)
            messages.append(Array(bytes[(offset + 1)..<end]))
            offset = end
        }
        return messages
    }

    static let credentials = SASLClientCredentials(authenticationIdentity: "alice", password: "wonder land")

    /// DIGEST-MD5's client against a hostile server: the challenge, then `rspauth`.
    static func digestClient(_ bytes: UnsafeRawBufferPointer) {
        var client = DigestMD5ClientMechanism(credentials: credentials, host: "mx.example.test", service: "smtp", cnonce: "fuzz")
        // DIGEST-MD5 has no initial response: start gives nil and waits for the challenge.
        let initial: [UInt8]?
        do { initial = try client.start() } catch { return }
        precondition(initial == nil, "DIGEST-MD5 sent an initial response")
        for message in messages(bytes) {
            guard let response = try? client.step(message) else { return }
            precondition(response.count <= 65_536, "a response of \(response.count) octets")
        }
        _ = try? client.finish(additionalData: nil)
    }

    /// SCRAM-SHA-256's client against a hostile server: server-first, then server-final. The
    /// iteration limit is low so that a hostile `i=` costs little here; the bound itself is what
    /// is tested.
    static func scramClient(_ bytes: UnsafeRawBufferPointer) {
        var client = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: credentials, channelBinding: nil, serverOffersChannelBinding: false,
            clientNonce: "fyko+d2lbbFgONRv9qkxdawL", limits: SASLLimits(maximumSCRAMIterations: 64, minimumSCRAMIterations: 1))
        let initial: [UInt8]?
        do { initial = try client.start() } catch { return }
        precondition(initial != nil, "SCRAM sent no client-first message")
        // The step is async (PBKDF2 runs on MailAuth's key-derivation pool): wait for it here.
        let input = messages(bytes)
        let started = client
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            var client = started
            for message in input {
                guard (try? await client.step(message)) != nil else { return }
            }
            _ = try? client.finish(additionalData: nil)
        }
        done.wait()
    }

    /// A store with one user of every credential kind; SCRAM verifiers of few iterations keep
    /// each input cheap.
    static let store: SASLPasswordFile = {
        let verifier = try! SCRAMVerifier(password: "wonder land", hashFunction: .sha256, iterations: 16, salt: Array("salt".utf8))
        return try! SASLPasswordFile(contents: "alice: \(verifier.encoded) {PLAIN}wonder land", path: "fuzz")
    }()

    static let backend = SASLNativeServer(verifier: store, serverName: "mx.example.test", scramIterations: 16)

    static let mechanisms: [SASLMechanismName] = [.plain, .login, .cramMD5, .digestMD5, .scramSHA256, .scramSHA1, .external]

    /// A server mechanism (chosen by the first octet) fed the client's messages that follow: the
    /// first as the initial response when the second octet is odd. It ends with a success or a
    /// ``SASLError``, within the step limit.
    static func server(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 2 else { return }
        let mechanism = mechanisms[Int(bytes[0]) % mechanisms.count]
        let inline = bytes[1] & 1 == 1
        let input = messages(UnsafeRawBufferPointer(rebasing: bytes[2...]))
        let context = SASLServerContext(isSecure: true, externalIdentity: bytes[1] & 2 == 2 ? "alice" : nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            do throws(SASLError) {
                var exchange = try backend.makeMechanism(mechanism, context: context)
                var remaining = input[...]
                var step = try await exchange.start(initialResponse: inline ? remaining.popFirst() : nil)
                var steps = 0
                while case .challenge = step, let message = remaining.popFirst() {
                    steps += 1
                    precondition(steps <= SASLLimits.default.maximumSteps + 1, "the exchange did not stop after the step limit")
                    step = try await exchange.step(message)
                }
            } catch {
                // Every way to fail is a SASLError: the typed throw says so.
            }
        }
        done.wait()
    }
}
