import Foundation
import MailAuth
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// CRAM-MD5, DIGEST-MD5 and SCRAM-SHA-1/256 against Sendmail itself, run as inetd would
/// (`sendmail -bs`) with Cyrus SASL and a private sasldb2: the server side of every mechanism is
/// libsasl2's.
@Suite("SMTPClient against Sendmail with Cyrus SASL")
struct SendmailAuthTests {
    /// A Sendmail set-up in a private folder: sendmail.cf offering CRAM-MD5 and DIGEST-MD5, a
    /// sasldb2 with alice's password, and a queue that only collects (delivery mode queue).
    final class Setup: @unchecked Sendable {
        let directory: TemporaryDirectory
        let peer: LoopbackPeer
        var queue: String { directory.file("queue") }

        init() async throws {
            // Sendmail refuses SASL files below a world-writable directory such as /tmp: the
            // set-up lives in the build folder. libsasl2 ignores SASL_CONF_PATH in a set-group-ID
            // program, so the set-up runs a plain copy of Sendmail's binary, and Sendmail's `E`
            // option (below) sets the variable, since Sendmail starts with a clean environment.
            let directory = try TemporaryDirectory(prefix: "sendmail", in: "\(ExternalTool.repositoryRoot)/.build/swiftmta-tests")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            try FileManager.default.copyItem(atPath: "/usr/libexec/sendmail/sendmail", toPath: directory.file("sendmail"))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.file("sendmail"))
            try FileManager.default.createDirectory(atPath: directory.file("queue"), withIntermediateDirectories: true)
            try directory.write("sendmail.mc", """
                include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
                VERSIONID(`SwiftMTA SMTPClient tests')dnl
                OSTYPE(`debian')dnl
                define(`confDONT_BLAME_SENDMAIL', `GroupReadableSASLDBFile,MapInUnsafeDirPath,ClassFileInUnsafeDirPath')dnl
                define(`confAUTH_MECHANISMS', `SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5')dnl
                TRUST_AUTH_MECH(`SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5')dnl
                define(`confAUTH_OPTIONS', `A')dnl
                define(`QUEUE_DIR', `\(directory.file("queue"))')dnl
                define(`confDELIVERY_MODE', `queueonly')dnl
                define(`confHOST_STATUS_DIRECTORY', `')dnl
                FEATURE(`no_default_msa')dnl
                MAILER(`local')dnl
                MAILER(`smtp')dnl
                LOCAL_CONFIG
                dnl Sendmail clears its environment: this line gives libsasl2 the private folder.
                ESASL_CONF_PATH=\(directory.path)
                """)
            let cf = try await ExternalTool.runChecked("m4", [directory.file("sendmail.mc")])
            try directory.write("sendmail.cf", cf.standardOutput)
            try await ExternalTool.runChecked(
                "saslpasswd2", ["-p", "-c", "-f", directory.file("sasldb2"), "-u", "mx.example.test", "alice"], input: "Wonderland7\n")
            try directory.write("Sendmail.conf", """
                pwcheck_method: auxprop
                auxprop_plugin: sasldb
                sasldb_path: \(directory.file("sasldb2"))
                mech_list: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5
                """)
            self.directory = directory
            peer = try await LoopbackPeer("python3", ["\(PeerScripts.directory)/sendmail_peer.py", directory.path], directory: directory)
        }

        /// The queue files Sendmail wrote (one `qf` per message it accepted).
        func queuedMessages() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: queue)) ?? []).filter { $0.hasPrefix("qf") }
        }
    }

    @Test("CRAM-MD5, DIGEST-MD5 (with the realm Sendmail offers) and SCRAM against libsasl2",
          arguments: [SASLMechanismName.cramMD5, .digestMD5, .scramSHA1, .scramSHA256])
    func authenticate(mechanism: SASLMechanismName) async throws {
        let setup = try await Setup()
        let credentials = SMTPClientCredentials(user: "alice", password: "Wonderland7", mechanisms: [mechanism])
        let result = try await SMTPClient.send(
            "Subject: authenticated\r\n\r\nby \(mechanism)\r\n", from: Mail.mailbox("alice@mx.example.test"),
            to: [Mail.mailbox("bob@example.test")],
            via: .smartHost("127.0.0.1", port: setup.peer.port, tls: .none, credentials: credentials), configuration: Mail.configuration())
        #expect(result.allAccepted, "\(result)")
        #expect(result.server.authenticationMechanism == mechanism)
        #expect(result.server.greeting.hasPrefix("mx.example.test"))
        #expect(setup.queuedMessages().count == 1)
    }

    @Test("R: the realm reaches libsasl2 (DIGEST-MD5): alice's realm works, another does not", arguments: [
        (realm: "mx.example.test", accepted: true),
        (realm: "elsewhere.example.test", accepted: false),
    ] as [(realm: String, accepted: Bool)])
    func realm(realm: String, accepted: Bool) async throws {
        let setup = try await Setup()
        let credentials = SMTPClientCredentials(user: "alice", password: "Wonderland7", realm: realm, mechanisms: [.digestMD5])
        let destination = SMTPDestination.smartHost("127.0.0.1", port: setup.peer.port, tls: .none, credentials: credentials)
        do {
            let connection = try await SMTPClientConnection.open(to: destination, configuration: Mail.configuration())
            _ = try await connection.send("Subject: x\r\n\r\nx\r\n", envelope: Mail.envelope(from: "alice@mx.example.test", to: ["bob@example.test"]))
            await connection.close()
            #expect(accepted)
            #expect(setup.queuedMessages().count == 1)
        } catch {
            #expect(!accepted)
            #expect(error.kind == .authenticationFailed, "\(error)")
            #expect(error.reply?.code == 535)
        }
    }

    @Test("the strongest mechanism both offer is chosen: SCRAM-SHA-256")
    func negotiated() async throws {
        let setup = try await Setup()
        let connection = try await SMTPClientConnection.open(
            to: .smartHost("127.0.0.1", port: setup.peer.port, tls: .none, credentials: SMTPClientCredentials(user: "alice", password: "Wonderland7")),
            configuration: Mail.configuration())
        #expect(connection.server.authenticationMechanism == .scramSHA256)
        await connection.close()
    }

    @Test("a wrong password is refused by libsasl2: AUTH failed, permanent, nothing queued",
          arguments: [SASLMechanismName.cramMD5, .digestMD5, .scramSHA256])
    func wrongPassword(mechanism: SASLMechanismName) async throws {
        let setup = try await Setup()
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Mail.mailbox("alice@mx.example.test"), to: [Mail.mailbox("bob@example.test")],
                via: .smartHost("127.0.0.1", port: setup.peer.port, tls: .none,
                                credentials: SMTPClientCredentials(user: "alice", password: "Looking-Glass", mechanisms: [mechanism])),
                configuration: Mail.configuration())
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.stage == .authentication)
        #expect(error?.reply?.code == 535)
        #expect(setup.queuedMessages().isEmpty)
    }
}
