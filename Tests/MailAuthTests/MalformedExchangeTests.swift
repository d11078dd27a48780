@testable import MailAuth
import TestSupport
import Testing

/// Bad input of every kind fails with a ``SASLError`` naming what is wrong: never a crash, a hang,
/// or a success.
@Suite("Malformed exchanges")
struct MalformedExchangeTests {
    static let store: SASLPasswordFile = {
        // The text is fixed and valid; a parse failure here is a broken test.
        try! SASLPasswordFile(contents: "alice: {PLAIN}wonder land\nuser: {PLAIN}pencil", path: "malformed-test")
    }()

    static let backend = SASLNativeServer(verifier: store, serverName: "mx.example.test")

    /// Feeds `messages` (the first as initial response when `initial` is set) and returns the
    /// error the exchange ends with; records an issue if it succeeds.
    static func failure(
        _ mechanism: SASLMechanismName, initial: [UInt8]?, _ messages: [[UInt8]] = [],
        context: SASLServerContext = SASLServerContext(isSecure: true)
    ) async -> SASLError? {
        do throws(SASLError) {
            var server = try backend.makeMechanism(mechanism, context: context)
            var step = try await server.start(initialResponse: initial)
            for message in messages {
                guard case .challenge = step else { break }
                step = try await server.step(message)
            }
            Issue.record("the exchange did not fail: \(step)")
            return nil
        } catch {
            return error
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let mechanism: SASLMechanismName
        let initial: [UInt8]?
        let messages: [[UInt8]]
        let kind: SASLError.Kind
        var testDescription: String { "\(mechanism): \(name)" }
    }

    static let long = [UInt8](repeating: UInt8(ascii: "a"), count: 256)
    static let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 20_000)

    static let cases: [Case] = [
        Case(name: "no separator", mechanism: .plain, initial: bytes("alice"), messages: [], kind: .malformed),
        Case(name: "one separator", mechanism: .plain, initial: bytes("\0alice"), messages: [], kind: .malformed),
        Case(name: "empty user", mechanism: .plain, initial: bytes("\0\0pw"), messages: [], kind: .malformed),
        Case(name: "empty password", mechanism: .plain, initial: bytes("\0alice\0"), messages: [], kind: .malformed),
        Case(name: "three separators", mechanism: .plain, initial: bytes("\0alice\0wonder\0land"), messages: [], kind: .malformed),
        Case(name: "overlong user", mechanism: .plain, initial: [0] + long + [0, 1], messages: [], kind: .malformed),
        Case(name: "overlong message", mechanism: .plain, initial: huge, messages: [], kind: .malformed),
        Case(name: "not UTF-8", mechanism: .plain, initial: [0, 0xC3, 0x28, 0, 1], messages: [], kind: .malformed),
        Case(name: "wrong password", mechanism: .plain, initial: bytes("\0alice\0wonderland"), messages: [], kind: .authenticationFailed),
        Case(name: "unknown user", mechanism: .plain, initial: bytes("\0mallory\0wonder land"), messages: [], kind: .authenticationFailed),
        Case(name: "acting as another", mechanism: .plain, initial: bytes("user\0alice\0wonder land"), messages: [], kind: .authorizationFailed),
        Case(name: "empty user name", mechanism: .login, initial: nil, messages: [[]], kind: .malformed),
        Case(name: "overlong user name", mechanism: .login, initial: nil, messages: [long], kind: .malformed),
        Case(name: "NUL in password", mechanism: .login, initial: bytes("alice"), messages: [bytes("wonder\0land")], kind: .malformed),
        Case(name: "overlong password", mechanism: .login, initial: bytes("alice"), messages: [huge], kind: .malformed),
        Case(name: "initial response", mechanism: .cramMD5, initial: bytes("alice 0123"), messages: [], kind: .malformed),
        Case(name: "no space", mechanism: .cramMD5, initial: nil, messages: [bytes("alice")], kind: .malformed),
        Case(name: "short digest", mechanism: .cramMD5, initial: nil, messages: [bytes("alice 0123abcd")], kind: .malformed),
        Case(name: "digest not hex", mechanism: .cramMD5, initial: nil, messages: [bytes("alice " + String(repeating: "z", count: 32))], kind: .malformed),
        Case(name: "wrong digest", mechanism: .cramMD5, initial: nil, messages: [bytes("alice " + String(repeating: "0", count: 32))], kind: .authenticationFailed),
        Case(name: "truncated", mechanism: .digestMD5, initial: nil, messages: [bytes(#"username="alice",realm="mx.exa"#)], kind: .malformed),
        Case(name: "garbage", mechanism: .digestMD5, initial: nil, messages: [[0xFF, 0x00, 0x3D, 0x22]], kind: .malformed),
        Case(name: "missing response", mechanism: .digestMD5, initial: nil, messages: [bytes(#"username="alice",nonce="x",cnonce="y",nc=00000001,digest-uri="smtp/mx.example.test""#)], kind: .malformed),
        Case(name: "duplicate username", mechanism: .digestMD5, initial: nil, messages: [bytes(#"username="alice",username="bob",nonce="x",cnonce="y",nc=00000001,digest-uri="smtp/mx.example.test",response=00000000000000000000000000000000"#)], kind: .malformed),
        Case(name: "wrong nonce", mechanism: .digestMD5, initial: nil, messages: [bytes(#"username="alice",nonce="not-ours",cnonce="y",nc=00000001,digest-uri="smtp/mx.example.test",response=00000000000000000000000000000000,qop=auth"#)], kind: .authenticationFailed),
        Case(name: "bad base64 in c=", mechanism: .scramSHA256, initial: bytes("n,,n=user,r=abc"), messages: [bytes("c=***,r=abc,p=AAAA")], kind: .malformed),
        Case(name: "truncated client-first", mechanism: .scramSHA256, initial: bytes("n,,"), messages: [], kind: .malformed),
        Case(name: "no nonce", mechanism: .scramSHA256, initial: bytes("n,,n=user"), messages: [], kind: .malformed),
        Case(name: "mandatory extension", mechanism: .scramSHA256, initial: bytes("n,,m=ext,n=user,r=abc"), messages: [], kind: .malformed),
        Case(name: "bad name escape", mechanism: .scramSHA256, initial: bytes("n,,n=us=2Xer,r=abc"), messages: [], kind: .malformed),
        Case(name: "unknown flag", mechanism: .scramSHA256, initial: bytes("x,,n=user,r=abc"), messages: [], kind: .malformed),
        Case(name: "channel binding with a non-PLUS mechanism", mechanism: .scramSHA256, initial: bytes("p=tls-unique,,n=user,r=abc"), messages: [], kind: .malformed),
        Case(name: "nonce with a comma-free but unprintable byte", mechanism: .scramSHA1, initial: [UInt8]("n,,n=user,r=a".utf8) + [0x01], messages: [], kind: .malformed),
        Case(name: "wrong nonce in client-final", mechanism: .scramSHA256, initial: bytes("n,,n=user,r=abc"), messages: [bytes("c=biws,r=abcX,p=" + Base64.encode([UInt8](repeating: 0, count: 32)))], kind: .authenticationFailed),
        Case(name: "client-final without proof", mechanism: .scramSHA256, initial: bytes("n,,n=user,r=abc"), messages: [bytes("c=biws,r=abc")], kind: .malformed),
        Case(name: "overlong client-first", mechanism: .scramSHA256, initial: bytes("n,,n=user,r=") + huge, messages: [], kind: .malformed),
    ]

    @Test("each malformed or wrong message fails with the right kind", arguments: cases)
    func malformed(_ testCase: Case) async {
        let error = await Self.failure(testCase.mechanism, initial: testCase.initial, testCase.messages)
        #expect(error?.kind == testCase.kind, "\(String(describing: error))")
        #expect(error?.mechanism == testCase.mechanism)
    }

    /// A valid DIGEST-MD5 response for `challenge`, made by our client.
    static func digestResponse(to challenge: [UInt8], password: String = "wonder land") throws -> [UInt8] {
        var client = DigestMD5ClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "alice", password: SASLSecret(password)),
            host: "mx.example.test")
        _ = try client.start()
        return try client.step(challenge)
    }

    @Test("DIGEST-MD5: a response replayed into a new exchange fails, and so does a higher nonce count")
    func digestReplay() async throws {
        var first = try Self.backend.makeMechanism(.digestMD5, context: SASLServerContext())
        let challenge = try #require(try await first.start(initialResponse: nil).challenge)
        let response = try Self.digestResponse(to: challenge)
        // The genuine response is accepted: rspauth comes back as one more challenge.
        let rspauth = try #require(try await first.step(response).challenge)
        #expect(String(decoding: rspauth, as: UTF8.self).hasPrefix("rspauth="))
        // The same response against a second exchange (another nonce).
        var second = try Self.backend.makeMechanism(.digestMD5, context: SASLServerContext())
        _ = try await second.start(initialResponse: nil)
        let replayed = await #expect(throws: SASLError.self) { try await second.step(response) }
        #expect(replayed?.kind == .authenticationFailed)
        // Sent again into the first exchange, past its rspauth: not an empty acknowledgement.
        let again = await #expect(throws: SASLError.self) { try await first.step(response) }
        #expect(again?.kind == .malformed)
        // nc=00000002 against a fresh exchange's own nonce.
        var third = try Self.backend.makeMechanism(.digestMD5, context: SASLServerContext())
        let thirdChallenge = try #require(try await third.start(initialResponse: nil).challenge)
        let counted = String(decoding: try Self.digestResponse(to: thirdChallenge), as: UTF8.self)
            .replacingOccurrences(of: "nc=00000001", with: "nc=00000002")
        let error = await #expect(throws: SASLError.self) { try await third.step(Array(counted.utf8)) }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.message.contains("replayed") == true)
    }

    @Test("DIGEST-MD5: wrong password, another service, another host, qop=auth-int")
    func digestWrongFields() async throws {
        let variations: [(String, (String) -> String, SASLError.Kind)] = [
            ("wrong password", { $0 }, .authenticationFailed),
            ("service", { $0.replacingOccurrences(of: "smtp/", with: "imap/") }, .authenticationFailed),
            ("host", { $0.replacingOccurrences(of: "/mx.example.test", with: "/evil.example") }, .authenticationFailed),
            ("qop", { $0.replacingOccurrences(of: "qop=auth", with: "qop=auth-int") }, .mechanismUnavailable),
        ]
        for (name, change, kind) in variations {
            var server = try Self.backend.makeMechanism(.digestMD5, context: SASLServerContext())
            let challenge = try #require(try await server.start(initialResponse: nil).challenge, "\(name)")
            let response = try Self.digestResponse(to: challenge, password: name == "wrong password" ? "guess" : "wonder land")
            let changed = change(String(decoding: response, as: UTF8.self))
            let error = await #expect(throws: SASLError.self) { try await server.step(Array(changed.utf8)) }
            #expect(error?.kind == kind, "\(name): \(String(describing: error))")
        }
    }

    @Test("SCRAM: a wrong proof and an unknown user fail alike, and the unknown user gets a stable decoy salt")
    func scramUnknownUser() async throws {
        func serverFirst(for user: String) async throws -> String {
            var server = try Self.backend.makeMechanism(.scramSHA256, context: SASLServerContext())
            let first = try #require(try await server.start(initialResponse: Array("n,,n=\(user),r=abc".utf8)).challenge)
            return String(decoding: first, as: UTF8.self)
        }
        let salt = { (text: String) in text.split(separator: ",").first { $0.hasPrefix("s=") } }
        let one = try await serverFirst(for: "mallory")
        let two = try await serverFirst(for: "mallory")
        #expect(salt(one) == salt(two))
        #expect(salt(one) != nil)
        for user in ["mallory", "user"] {
            var client: any SASLClientMechanism = SCRAMClientMechanism(
                hashFunction: .sha256, credentials: SASLClientCredentials(authenticationIdentity: user, password: "guess"))
            var server = try Self.backend.makeMechanism(.scramSHA256, context: SASLServerContext())
            let error = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
            #expect(error?.kind == .authenticationFailed)
            #expect(error?.message == "wrong password or unknown user")
        }
    }

    @Test("SCRAM-PLUS: channel binding must match; a `y` client is refused when the server offers PLUS")
    func scramChannelBinding() async throws {
        let binding = SASLChannelBinding.tlsExporter([UInt8](repeating: 7, count: 32))
        let context = SASLServerContext(isSecure: true, channelBinding: binding)
        let credentials = SASLClientCredentials(authenticationIdentity: "user", password: "pencil")

        var client: any SASLClientMechanism = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: credentials, channelBinding: binding, serverOffersChannelBinding: true)
        #expect(client.name == .scramSHA256Plus)
        var server = try Self.backend.makeMechanism(.scramSHA256Plus, context: context)
        let outcome = try await SASLExchange.run(client: &client, server: &server)
        #expect(outcome.mechanism == .scramSHA256Plus)

        // A man in the middle terminates TLS: the client sees other binding data.
        client = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: credentials,
            channelBinding: .tlsExporter([UInt8](repeating: 9, count: 32)), serverOffersChannelBinding: true)
        server = try Self.backend.makeMechanism(.scramSHA256Plus, context: context)
        let mismatch = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
        #expect(mismatch?.kind == .authenticationFailed)

        // The PLUS offer was stripped: the client says `y`, the server knows better.
        client = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: credentials, channelBinding: binding, serverOffersChannelBinding: false)
        server = try Self.backend.makeMechanism(.scramSHA256, context: context)
        let downgrade = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
        #expect(downgrade?.kind == .authenticationFailed)

        // -PLUS without TLS data cannot even start.
        #expect(throws: SASLError.self) { try Self.backend.makeMechanism(.scramSHA256Plus, context: SASLServerContext()) }
    }

    @Test("calls out of order fail as invalid state and end the exchange")
    func outOfOrder() async throws {
        for mechanism in [SASLMechanismName.plain, .login, .cramMD5, .digestMD5, .scramSHA256] {
            var server = try Self.backend.makeMechanism(mechanism, context: SASLServerContext())
            let early = await #expect(throws: SASLError.self) { try await server.step([]) }
            #expect(early?.kind == .invalidState)
            let after = await #expect(throws: SASLError.self) { try await server.start(initialResponse: nil) }
            #expect(after?.kind == .invalidState)
        }
    }

    @Test("random bytes at every step never crash or succeed")
    func randomBytes() async throws {
        var generator = SplitMix64(seed: 0x5EED)
        for round in 0..<400 {
            await Task.yield()
            let mechanism = SASLNativeServer.allMechanisms.filter { $0 != .scramSHA1Plus && $0 != .scramSHA256Plus && $0 != .external }[round % 6]
            var server = try Self.backend.makeMechanism(mechanism, context: SASLServerContext())
            let length = Int(generator.next() % 300)
            let noise = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            do {
                var step = try await server.start(initialResponse: round.isMultiple(of: 2) ? noise : nil)
                for _ in 0..<3 {
                    guard case .challenge = step else { break }
                    step = try await server.step((0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                }
                if case .success = step { Issue.record("\(mechanism) accepted noise") }
            } catch {}
        }
    }

    @Test("client mechanisms refuse servers that misbehave")
    func misbehavingServers() async throws {
        let credentials = SASLClientCredentials(authenticationIdentity: "user", password: "pencil")
        var scram = SCRAMClientMechanism(hashFunction: .sha256, credentials: credentials)
        _ = try scram.start()
        // A nonce that does not extend ours.
        await #expect(throws: SASLError.self) { try await scram.step(Array("r=other,s=QSXCR+Q6sek8bf92,i=4096".utf8)) }
        // Too few and too many iterations.
        for count in [1, 100_000_000] {
            var again = SCRAMClientMechanism(hashFunction: .sha256, credentials: credentials)
            let message = String(decoding: try #require(try again.start()), as: UTF8.self)
            let own = String(message.split(separator: "r=").last!)
            let error = await #expect(throws: SASLError.self) { try await again.step(Array("r=\(own)xyz,s=QSXCR+Q6sek8bf92,i=\(count)".utf8)) }
            #expect(error?.kind == .serverAuthenticationFailed)
        }
        // A wrong signature, an error, and success without a signature (RFC 7677's exchange).
        let serverFirst = Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)
        // The client after its proof (PBKDF2 on MailAuth's key-derivation pool), then each bad server-final.
        var answered = SCRAMClientMechanism(
            hashFunction: .sha256, credentials: credentials, channelBinding: nil, serverOffersChannelBinding: false,
            clientNonce: "rOprNGfwEbeRWgbNEkqO", limits: .default)
        _ = try answered.start()
        _ = try await answered.step(serverFirst)
        for (final, kind) in [("v=AAAA", SASLError.Kind.serverAuthenticationFailed), ("e=invalid-proof", .serverAuthenticationFailed), ("x=1", .serverAuthenticationFailed), ("", .malformed)] {
            var client = answered
            let error = await #expect(throws: SASLError.self) { try await client.step(Array(final.utf8)) }
            #expect(error?.kind == kind, "\(final): \(String(describing: error))")
        }
        var unsigned = answered
        let unsignedError = #expect(throws: SASLError.self) { try unsigned.finish(additionalData: nil) }
        #expect(unsignedError?.kind == .serverAuthenticationFailed)
        var digest = DigestMD5ClientMechanism(credentials: credentials, host: "mx.example.test")
        _ = try digest.start()
        #expect(throws: SASLError.self) { try digest.step(Array(#"realm="x",qop="auth",algorithm=md5-sess"#.utf8)) }
        var noAuth = DigestMD5ClientMechanism(credentials: credentials, host: "mx.example.test")
        _ = try noAuth.start()
        let qop = #expect(throws: SASLError.self) { try noAuth.step(Array(#"nonce="n",qop="auth-conf",algorithm=md5-sess"#.utf8)) }
        #expect(qop?.kind == .mechanismUnavailable)
        var rspauth = DigestMD5ClientMechanism(credentials: credentials, host: "mx.example.test")
        _ = try rspauth.start()
        _ = try rspauth.step(Array(#"nonce="n",qop="auth",algorithm=md5-sess,charset=utf-8"#.utf8))
        let wrong = #expect(throws: SASLError.self) { try rspauth.step(Array("rspauth=00000000000000000000000000000000".utf8)) }
        #expect(wrong?.kind == .serverAuthenticationFailed)
        var early = DigestMD5ClientMechanism(credentials: credentials, host: "mx.example.test")
        _ = try early.start()
        _ = try early.step(Array(#"nonce="n",qop="auth",algorithm=md5-sess"#.utf8))
        #expect(throws: SASLError.self) { try early.finish(additionalData: nil) }
        var cram = CRAMMD5ClientMechanism(credentials: credentials)
        _ = try cram.start()
        #expect(throws: SASLError.self) { try cram.step([]) }
        var plain = PlainClientMechanism(credentials: credentials)
        _ = try plain.start()
        #expect(throws: SASLError.self) { try plain.step(Array("more?".utf8)) }
    }
}

/// A small deterministic generator for the noise test.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension MalformedExchangeTests {
    /// An application's store whose backing table cannot be read.
    struct UnreadableStore: SASLCredentialVerifier {
        struct TableUnreadable: Error, CustomStringConvertible {
            var description: String { "hash:/etc/mail/users.db: permission denied" }
        }

        func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
            throw TableUnreadable()
        }
    }

    @Test("a store that fails is a temporary failure, never wrong credentials", arguments: [
        SASLMechanismName.plain, .login, .cramMD5, .digestMD5, .scramSHA256,
    ])
    func storeFailure(mechanism: SASLMechanismName) async throws {
        let backend = SASLNativeServer(verifier: UnreadableStore(), serverName: "mx.example.test")
        var server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
        var client = CyrusInteropTests.nativeClient(mechanism, user: "alice", password: "wonder land")
        let error = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
        #expect(error?.kind == .temporaryFailure)
        #expect(error?.underlyingError is UnreadableStore.TableUnreadable)
        #expect("\(String(describing: error))".contains("permission denied"), "the log line keeps the cause")
    }
}
