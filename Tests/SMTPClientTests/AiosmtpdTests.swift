import Foundation
import MailAuth
import MailTLS
import NIOCore
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// SMTPClient against Python's aiosmtpd: STARTTLS verified against a test CA, AUTH PLAIN and
/// LOGIN, a client certificate, and the refusals a real server gives.
@Suite("SMTPClient against aiosmtpd")
struct AiosmtpdTests {
    static let sender = Mail.mailbox("alice@client.example.test")

    static func tlsConfiguration(_ pki: ClientTestPKI) -> SMTPClientConfiguration {
        var configuration = Mail.configuration()
        configuration.tls = .client(caFile: pki.caCertificate)
        return configuration
    }

    @Test("STARTTLS with the host name verified, then AUTH PLAIN or LOGIN", arguments: [SASLMechanismName.plain, .login])
    func startTLSAndAuthenticate(mechanism: SASLMechanismName) async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "alice:s3cret"])
        let credentials = SMTPClientCredentials(user: "alice", password: "s3cret", mechanisms: [mechanism])
        let result = try await SMTPClient.send(
            "Subject: over TLS\r\n\r\nsecret text\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("localhost", port: peer.port, tls: .required, credentials: credentials),
            configuration: Self.tlsConfiguration(pki))
        #expect(result.allAccepted)
        #expect(result.server.authenticationMechanism == mechanism)
        let facts = try #require(result.server.tls)
        #expect(facts.verification == .ok)
        #expect(facts.serverName == "localhost")
        #expect(result.server.address == "127.0.0.1")   // ::1 was tried first and refused
        let messages = LoopbackPeer.messages(in: log)
        try #require(messages.count == 1)
        #expect(messages[0]["tls"] as? Bool == true)
        #expect(messages[0]["auth"] as? String == "alice")
        #expect(LoopbackPeer.text(of: messages[0]).contains("secret text"))
    }

    @Test("U: the authorization identity goes with PLAIN (RFC 4616); the password never shows in a description")
    func authorizationIdentity() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "alice:s3cret"])
        let credentials = SMTPClientCredentials(user: "alice", password: "s3cret", authorizationIdentity: "root", mechanisms: [.plain])
        #expect(credentials.description == "U:root I:alice M:PLAIN P:<secret>")
        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("localhost", port: peer.port, tls: .required, credentials: credentials), configuration: Self.tlsConfiguration(pki))
        #expect(result.allAccepted)
        #expect(LoopbackPeer.messages(in: log).first?["authzid"] as? String == "root")
    }

    @Test("a wrong password: the error names AUTH and carries the server's 535")
    func wrongPassword() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "alice:s3cret"])
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("localhost", port: peer.port, tls: .required, credentials: SMTPClientCredentials(user: "alice", password: "wrong")),
                configuration: Self.tlsConfiguration(pki))
        }
        let failure = try #require(error)
        #expect(failure.kind == .authenticationFailed)
        #expect(failure.stage == .authentication)
        #expect(failure.reply?.code == 535)
        #expect(!failure.isTemporary)
        #expect(!failure.description.contains("wrong"))
        #expect(LoopbackPeer.messages(in: log).isEmpty)
    }

    @Test("PLAIN and LOGIN are never used without TLS unless allowed")
    func noPlaintextPasswordWithoutTLS() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--user", "alice:s3cret", "--auth-without-tls"])
        let refused = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: peer.port, tls: .opportunistic, credentials: SMTPClientCredentials(user: "alice", password: "s3cret")),
                configuration: Mail.configuration())
        }
        #expect(refused?.kind == .authenticationUnavailable)
        #expect(refused?.stage == .authentication)
        #expect(refused?.message.contains("not encrypted") == true)
        #expect(LoopbackPeer.messages(in: log).isEmpty)

        let allowed = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: peer.port, tls: .none,
                            credentials: SMTPClientCredentials(user: "alice", password: "s3cret", allowsPlaintextWithoutTLS: true)),
            configuration: Mail.configuration())
        #expect(allowed.allAccepted)
        #expect(allowed.server.authenticationMechanism == .plain)
    }

    @Test("TLS required and not offered: refused before MAIL")
    func tlsRequiredNotOffered() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd()
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: peer.port, tls: .required), configuration: Mail.configuration())
        }
        #expect(error?.kind == .tlsUnavailable)
        #expect(error?.stage == .startTLS)
        #expect(LoopbackPeer.messages(in: log).isEmpty)
    }

    @Test("a certificate for another name fails verification; opportunistic TLS takes it")
    func hostNameMismatch() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, _) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey])
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: peer.port, tls: .required(verifying: .hostName(alsoAccepted: ["other.example.test"]))),
                configuration: Self.tlsConfiguration(pki))
        }
        #expect(error?.kind == .tlsFailed)
        #expect(error?.stage == .tlsHandshake)
        let opportunistic = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: peer.port, tls: .opportunistic), configuration: Mail.configuration())
        #expect(opportunistic.allAccepted)
        // Encrypted, and the facts say the chain did not verify against the (system's) CAs.
        #expect(opportunistic.server.tls?.verification != .ok)
    }

    @Test("the client certificate (confCLIENT_CERT/KEY) is presented when the server asks")
    func clientCertificate() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--client-ca", pki.caCertificate])
        var configuration = Self.tlsConfiguration(pki)
        configuration.tls.certificateChainFile = pki.clientCertificate
        configuration.tls.privateKeyFile = pki.clientKey
        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("localhost", port: peer.port, tls: .required), configuration: configuration)
        #expect(result.allAccepted)
        #expect(LoopbackPeer.messages(in: log).first?["peer_certificate"] as? String == "client.example.test")
    }

    @Test("XOAUTH2 with a bearer token; a refused token fails AUTH after the server's JSON challenge")
    func xoauth2() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--oauth-token", "ya29.token"])
        let result = try await SMTPClient.send(
            "Subject: oauth\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("localhost", port: peer.port, tls: .required, credentials: .oauth2(user: "alice@example.test", token: "ya29.token")),
            configuration: Self.tlsConfiguration(pki))
        #expect(result.server.authenticationMechanism == .xoauth2)
        #expect(LoopbackPeer.messages(in: log).first?["auth"] as? String == "alice@example.test")
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: oauth\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("localhost", port: peer.port, tls: .required, credentials: .oauth2(user: "alice@example.test", token: "expired")),
                configuration: Self.tlsConfiguration(pki))
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.reply?.code == 535)
    }

    @Test("EXTERNAL: the client certificate authenticates")
    func external() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd([
            "--starttls", pki.serverCertificate, pki.serverKey, "--client-ca", pki.caCertificate, "--external"])
        var configuration = Self.tlsConfiguration(pki)
        configuration.tls.certificateChainFile = pki.clientCertificate
        configuration.tls.privateKeyFile = pki.clientKey
        let result = try await SMTPClient.send(
            "Subject: external\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("localhost", port: peer.port, tls: .required, credentials: .external()), configuration: configuration)
        #expect(result.server.authenticationMechanism == .external)
        #expect(LoopbackPeer.messages(in: log).first?["auth"] as? String == "client.example.test")
    }

    @Test("one recipient of three refused: typed per-recipient results, the message goes to the others")
    func oneOfThreeRefused() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--refuse", "nobody@example.test"])
        let result = try await SMTPClient.send(
            "Subject: three\r\n\r\nx\r\n", from: Self.sender,
            to: [Mail.mailbox("bob@example.test"), Mail.mailbox("nobody@example.test"), Mail.mailbox("carol@example.test")],
            via: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: Mail.configuration())
        #expect(result.recipients.map(\.status) == [.accepted, .permanentFailure, .accepted])
        let refused = result.recipients[1]
        #expect(refused.reply.code == 550)
        #expect(refused.reply.enhancedCode == EnhancedStatusCode(5, 1, 1))
        #expect(refused.reply.lines.first?.contains("User unknown") == true)
        #expect(refused.stage == .recipient)
        #expect(!refused.isClientDecision)
        #expect(result.messageReply?.code == 250)
        let messages = LoopbackPeer.messages(in: log)
        #expect(messages.first?["to"] as? [String] == ["bob@example.test", "carol@example.test"])
    }

    @Test("421 in the middle of the session: the stage and the reply are named")
    func closingMidSession() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--close-at-rcpt", "2"])
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("bob@example.test"), Mail.mailbox("carol@example.test")],
                via: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: Mail.configuration())
        }
        let failure = try #require(error)
        #expect(failure.kind == .serviceClosing)
        #expect(failure.stage == .recipient)
        #expect(failure.reply?.code == 421)
        #expect(failure.isTemporary)
        #expect(failure.partialResult?.recipients.map(\.status) == [.temporaryFailure, .temporaryFailure])
        #expect(LoopbackPeer.messages(in: log).isEmpty)
    }

    @Test("a message larger than the server's SIZE is refused before MAIL")
    func oversize() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--size", "1000"])
        let text = "Subject: big\r\n\r\n" + String(repeating: "0123456789\r\n", count: 200)
        let result = try await SMTPClient.send(
            text, from: Self.sender, to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: Mail.configuration())
        let refused = try #require(result.recipients.first)
        #expect(refused.status == .permanentFailure)
        #expect(refused.isClientDecision)
        #expect(refused.reply.code == 552)
        #expect(refused.reply.enhancedCode == EnhancedStatusCode(5, 3, 4))
        #expect(result.server.capabilities.maximumSize == 1000)
        #expect(LoopbackPeer.messages(in: log).isEmpty)
    }

    @Test("SMTPUTF8: added for a UTF-8 address when offered, refused before MAIL when not", arguments: [true, false])
    func smtpUTF8(offered: Bool) async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd(offered ? ["--smtputf8"] : [])
        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Mail.mailbox("jörg@example.test")],
            via: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: Mail.configuration())
        if offered {
            #expect(result.allAccepted)
            #expect(LoopbackPeer.messages(in: log).first?["mail_options"] as? [String] == ["SMTPUTF8"])
        } else {
            #expect(result.recipients.first?.reply.code == 553)
            #expect(result.recipients.first?.reply.enhancedCode == EnhancedStatusCode(5, 6, 7))
            #expect(result.recipients.first?.isClientDecision == true)
            #expect(LoopbackPeer.messages(in: log).isEmpty)
        }
    }
}
