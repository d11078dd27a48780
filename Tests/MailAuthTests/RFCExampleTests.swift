@testable import MailAuth
import TestSupport
import Testing

/// Each mechanism against the worked example of its RFC, byte for byte.
@Suite("RFC example exchanges")
struct RFCExampleTests {
    // RFC 2195 §2.
    @Test("CRAM-MD5: RFC 2195's example, client and server")
    func cramMD5() async throws {
        let challenge = "<1896.697170952@postoffice.reston.mci.net>"
        var client = CRAMMD5ClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "tim", password: "tanstaaftanstaaf"))
        #expect(try client.start() == nil)
        let response = try client.step(Array(challenge.utf8))
        #expect(String(decoding: response, as: UTF8.self) == "tim b913a602c7eda7a495b4e6e7334d3890")

        var server = CRAMMD5ServerMechanism(verifier: try passwordFile("tim: {PLAIN}tanstaaftanstaaf"), challenge: challenge)
        let sent = try #require(try await server.start(initialResponse: nil).challenge)
        #expect(sent == Array(challenge.utf8))
        let success = try #require(try await server.step(response).success)
        #expect(success.additionalData == nil)
        #expect(success.outcome.authenticationIdentity == "tim")
    }

    // RFC 2831 §4, the IMAP example.
    @Test("DIGEST-MD5: RFC 2831's example, client and server")
    func digestMD5() async throws {
        let credentials = SASLClientCredentials(authenticationIdentity: "chris", password: "secret")
        var client = DigestMD5ClientMechanism(
            credentials: credentials, host: "elwood.innosoft.com", service: "imap", cnonce: "OA6MHXh6VqTrRk")
        #expect(try client.start() == nil)
        let challenge = Array(
            #"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#.utf8)
        let response = String(decoding: try client.step(challenge), as: UTF8.self)
        #expect(response.contains("response=d388dad90d4bbd760a152321f2143af7"))
        #expect(response.contains(#"digest-uri="imap/elwood.innosoft.com""#))
        #expect(response.contains("nc=00000001"))
        #expect(try client.step(Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8)) == [])
        try client.finish(additionalData: nil)

        // The RFC's own response text, fed to the server.
        let rfcResponse = #"charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth"#
        var server = DigestMD5ServerMechanism(
            verifier: try passwordFile("chris: {PLAIN}secret"), serverName: "elwood.innosoft.com", realm: nil,
            service: "imap", otherHostNames: [], nonce: "OA6MG9tEQGm2hh", limits: .default)
        let sent = try #require(try await server.start(initialResponse: nil).challenge)
        let sentText = String(decoding: sent, as: UTF8.self)
        #expect(sentText.contains(#"nonce="OA6MG9tEQGm2hh""#))
        #expect(sentText.contains(#"realm="elwood.innosoft.com""#))
        let rspauth = try #require(try await server.step(Array(rfcResponse.utf8)).challenge)
        #expect(String(decoding: rspauth, as: UTF8.self) == "rspauth=ea40f60335c427b5527b84dbabcdfffd")
        let success = try #require(try await server.step([]).success)
        #expect(success.additionalData == nil)
        #expect(success.outcome.authenticationIdentity == "chris")
    }

    struct SCRAMExample: Sendable, CustomTestStringConvertible {
        let rfc: String
        let hash: SCRAMHashFunction
        let clientNonce: String
        let serverNonce: String
        let salt: String
        let clientFirst: String
        let serverFirst: String
        let clientFinal: String
        let serverFinal: String
        var testDescription: String { rfc }
    }

    static let scramExamples = [
        // RFC 5802 §5.
        SCRAMExample(
            rfc: "RFC 5802 (SCRAM-SHA-1)", hash: .sha1, clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
            serverNonce: "3rfcNHYJY1ZVvWVs7j", salt: "QSXCR+Q6sek8bf92",
            clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
        // RFC 7677 §3.
        SCRAMExample(
            rfc: "RFC 7677 (SCRAM-SHA-256)", hash: .sha256, clientNonce: "rOprNGfwEbeRWgbNEkqO",
            serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
            clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    ]

    @Test("SCRAM client: the RFC's messages", arguments: scramExamples)
    func scramClient(example: SCRAMExample) async throws {
        // The step runs PBKDF2 on MailAuth's key-derivation pool, off the threads other tests' servers need.
        var client = SCRAMClientMechanism(
            hashFunction: example.hash, credentials: SASLClientCredentials(authenticationIdentity: "user", password: "pencil"),
            channelBinding: nil, serverOffersChannelBinding: false, clientNonce: example.clientNonce, limits: .default)
        let first = try client.start()
        let final = try await client.step(Array(example.serverFirst.utf8))
        let acknowledgement = try await client.step(Array(example.serverFinal.utf8))
        try client.finish(additionalData: nil)
        #expect(String(decoding: try #require(first), as: UTF8.self) == example.clientFirst)
        #expect(String(decoding: final, as: UTF8.self) == example.clientFinal)
        #expect(acknowledgement == [])
    }

    @Test("SCRAM server: the RFC's messages, from a stored password and from a stored verifier", arguments: scramExamples)
    func scramServer(example: SCRAMExample) async throws {
        let salt = try #require(Base64.decode(example.salt))
        let verifier = try await offThread {
            try SCRAMVerifier(password: "pencil", hashFunction: example.hash, iterations: 4096, salt: salt)
        }
        for store in ["user: {PLAIN}pencil", "user: \(verifier.encoded)"] {
            var server = try SCRAMServerMechanism(
                mechanism: example.hash.mechanism, verifier: try passwordFile(store), context: SASLServerContext(),
                iterations: 4096, serverNonce: example.serverNonce, salt: salt, limits: .default)
            let first = try #require(try await server.start(initialResponse: Array(example.clientFirst.utf8)).challenge)
            #expect(String(decoding: first, as: UTF8.self) == example.serverFirst)
            let success = try #require(try await server.step(Array(example.clientFinal.utf8)).success)
            let final = try #require(success.additionalData, "no server signature")
            #expect(String(decoding: final, as: UTF8.self) == example.serverFinal)
            #expect(success.outcome.authenticationIdentity == "user")
        }
    }

    // RFC 4616 §4.
    @Test("PLAIN: RFC 4616's examples")
    func plain() async throws {
        let store = try passwordFile("tim: {PLAIN}tanstaaftanstaaf", "Kurt: {PLAIN}xipj3plmq")
        var server: any SASLServerMechanism = PlainServerMechanism(verifier: store)
        let first = try #require(try await server.start(initialResponse: Array("\0tim\0tanstaaftanstaaf".utf8)).success)
        #expect(first.additionalData == nil)
        #expect(first.outcome.authorizationIdentity == "tim")
        // "Ursel" acting as "Kurt": refused by the default authorization rule.
        server = PlainServerMechanism(verifier: store)
        await #expect(throws: SASLError.self) {
            try await server.start(initialResponse: Array("Ursel\0Kurt\0xipj3plmq".utf8))
        }
        var client = PlainClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "tim", password: "tanstaaftanstaaf"))
        #expect(try client.start() == Array("\0tim\0tanstaaftanstaaf".utf8))
    }
}
