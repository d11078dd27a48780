import Foundation
import MailAuth
import TestSupport
import Testing

@Suite("Credential files and secrets")
struct SASLCredentialTests {
    @Test("a SCRAM verifier from SwiftMTA matches one computed by Python's hashlib (RFC 5802 §3)")
    func scramVerifierAgainstPython() async throws {
        let salt = Array("0123456789abcdef".utf8)
        let verifier = try await offThread {
            try SCRAMVerifier(password: "correct horse", hashFunction: .sha256, iterations: 4096, salt: salt)
        }
        let script = """
            import hashlib, hmac, base64
            salted = hashlib.pbkdf2_hmac('sha256', b'correct horse', b'0123456789abcdef', 4096)
            client = hmac.new(salted, b'Client Key', 'sha256').digest()
            server = hmac.new(salted, b'Server Key', 'sha256').digest()
            b = lambda x: base64.b64encode(x).decode()
            print('SCRAM-SHA-256$4096:%s$%s:%s' % (b(b'0123456789abcdef'), b(hashlib.sha256(client).digest()), b(server)))
            """
        let output = try await ExternalTool.runChecked("python3", ["-c", script])
        #expect(verifier.encoded == output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        // And the text form parses back to the same keys.
        let parsed = try SCRAMVerifier(parsing: verifier.encoded)
        #expect(parsed.storedKey == verifier.storedKey)
        #expect(parsed.serverKey == verifier.serverKey)
    }

    @Test("a PBKDF2 hash made by Python's hashlib verifies in SwiftMTA (PHC string format)")
    func pbkdf2FromPython() async throws {
        let script = """
            import hashlib, base64
            salt = b'pepper-and-salt!'
            key = hashlib.pbkdf2_hmac('sha512', b'hunter2', salt, 1000)
            u = lambda x: base64.b64encode(x).decode().rstrip('=')
            print('carol: $pbkdf2-sha512$i=1000$%s$%s' % (u(salt), u(key)))
            """
        let line = try await ExternalTool.runChecked("python3", ["-c", script]).standardOutput
        let file = try SASLPasswordFile(contents: line, path: "python-made")
        #expect(try await file.verifyPassword("hunter2", for: "carol"))
        #expect(!(try await file.verifyPassword("hunter3", for: "carol")))
        #expect(!(try await file.verifyPassword("hunter2", for: "dave")))
    }

    @Test("a password file: every credential form, PLAIN through the native server, and a generated entry")
    func passwordFileForms() async throws {
        let directory = try TemporaryDirectory()
        let (entry, hash) = try await offThread {
            (
                try SASLPasswordFile.entry(user: "erin", password: "s3cret words", hashFunctions: [.sha256, .sha1]),
                SASLPasswordHash(password: "fr@nk", iterations: 1000).encoded
            )
        }
        #expect(!entry.contains("s3cret"))
        let path = try directory.write("passwd", """
            # users of the test
            \(entry)
            frank: \(hash)
            grace: {PLAIN}with spaces  inside

            """, permissions: 0o600)
        let file = try SASLPasswordFile(path: path)
        #expect(file.count == 3)
        let backend = SASLNativeServer(verifier: file, serverName: "mx.example.test")
        for (user, password, mechanisms) in [
            ("erin", "s3cret words", [SASLMechanismName.plain, .login, .scramSHA256, .scramSHA1]),
            ("frank", "fr@nk", [.plain, .login]),
            ("grace", "with spaces  inside", [.plain, .cramMD5, .digestMD5, .scramSHA256]),
        ] {
            for mechanism in mechanisms {
                var server = try backend.makeMechanism(mechanism, context: SASLServerContext(isSecure: true))
                var client = CyrusInteropTests.nativeClient(mechanism, user: user, password: password)
                let outcome = try await SASLExchange.run(client: &client, server: &server)
                #expect(outcome.authenticationIdentity == user, "\(user) with \(mechanism)")
            }
        }
        // frank's store has only a hash: CRAM-MD5 cannot work, and says so in the log text.
        var server = try backend.makeMechanism(.cramMD5, context: SASLServerContext())
        var client = CyrusInteropTests.nativeClient(.cramMD5, user: "frank", password: "fr@nk")
        let error = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
        #expect(error?.message.contains("no password") == true)
    }

    @Test("password file errors name the file and line and never repeat the credential", arguments: [
        ("alice {PLAIN}pw", "2: expected"),
        (": {PLAIN}pw", "2: the user name is empty"),
        ("alice:", "2: user alice has no credential"),
        ("alice: md5$hunter2hunter2", "2: a credential of alice"),
        ("alice: SCRAM-SHA-256$4096:c2FsdA==$hunter2:hunter2", "2: the SCRAM salt or keys are not base64"),
        ("alice: $pbkdf2-sha512$i=zero$c2FsdA$aGFzaA", "2: the password hash's iteration count"),
        ("alice: {PLAIN}", "2: the {PLAIN} password of alice is empty"),
    ])
    func passwordFileErrors(line: String, expected: String) {
        let error = #expect(throws: SASLError.self) {
            try SASLPasswordFile(contents: "bob: {PLAIN}ok\n\(line)", path: "/etc/swiftmta/passwd")
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("/etc/swiftmta/passwd:\(expected)") == true, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains("hunter2") } ?? true)
    }

    @Test("a duplicate user and a missing file are clear errors")
    func fileProblems() {
        let duplicate = #expect(throws: SASLError.self) {
            try SASLPasswordFile(contents: "bob: {PLAIN}a\nbob: {PLAIN}b", path: "dup")
        }
        #expect(duplicate?.message == "dup:2: user bob appears a second time")
        let missing = #expect(throws: SASLError.self) { try SASLPasswordFile(path: "/nonexistent/passwd") }
        #expect(missing?.message == "/nonexistent/passwd: cannot open: No such file or directory")
    }

    @Test("secrets never show in descriptions, debug output or mirrors")
    func redaction() async throws {
        let password: SASLSecret = "hunter2"
        let credentials = SASLClientCredentials(
            authenticationIdentity: "alice", password: password, authorizationIdentity: "bob", realm: "example")
        let (verifier, hash) = try await offThread {
            (try SCRAMVerifier(password: password, hashFunction: .sha256), SASLPasswordHash(password: password, iterations: 1000))
        }
        let texts = [
            "\(password)", String(reflecting: password), "\(credentials)", String(reflecting: credentials),
            "\(verifier)", String(reflecting: verifier), "\(hash)", String(reflecting: hash),
            "\(SASLStoredCredential.password(password))", String(reflecting: SASLStoredCredential.password(password)),
            String(describing: Mirror(reflecting: credentials).children.map { "\($0.value)" }),
        ]
        for text in texts {
            #expect(!text.contains("hunter2"), "\(text)")
            #expect(!text.contains(Base64Probe.encode(verifier.storedKey)), "\(text)")
        }
        // Errors from every failing path of a PLAIN exchange carry no password either.
        let file = try SASLPasswordFile(contents: "alice: {PLAIN}hunter2", path: "p")
        var server: any SASLServerMechanism = PlainServerMechanism(verifier: file)
        let error = await #expect(throws: SASLError.self) {
            try await server.start(initialResponse: Array("bob\0alice\0hunter2".utf8))
        }
        #expect(!"\(String(describing: error))".contains("hunter2"))
    }
}

/// Base64 for the redaction check (Foundation's, independent of MailAuth's own).
enum Base64Probe {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
