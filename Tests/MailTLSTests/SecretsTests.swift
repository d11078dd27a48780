import Foundation
import MailTLS
import Testing
import TestSupport

extension MailTLSSuite {
    @Suite("secrets stay out of descriptions, debug descriptions and dump()")
    struct SecretsTests {
        /// Every way a value becomes text without asking for the secret by name.
        static func renderings<T>(_ value: T) -> [String] {
            var dumped = ""
            dump(value, to: &dumped)
            var nested = ""
            dump([value], to: &nested)
            return [String(describing: value), String(reflecting: value), dumped, nested, "\(value)"]
        }

        @Test("the key passphrase of a TLSConfiguration, alone and inside a loaded context")
        func passphrase() async throws {
            let passphrase = "correct horse battery staple"
            let configuration = TLSConfiguration.server(
                certificateChainFile: "/etc/mail/certs/sendmail.crt", privateKeyFile: "/etc/mail/certs/sendmail.key",
                passphrase: passphrase)
            #expect(configuration.privateKeyPassphrase == passphrase)
            for text in Self.renderings(configuration) {
                #expect(!text.contains("horse"), "\(text)")
            }
            #expect(String(describing: configuration).contains("passphrase=<redacted>"))

            // The same inside a context made from an encrypted key.
            let pki = try await TestPKI.sharedOffThread()
            let directory = try TemporaryDirectory(prefix: "swiftmta-secret")
            let encrypted = directory.file("encrypted.key")
            _ = try await offThread {
                try ExternalTool.runChecked("openssl", [
                    "pkey", "-in", pki.serverKey, "-aes256", "-passout", "pass:\(passphrase)", "-out", encrypted,
                ])
            }
            let context = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.serverChain, privateKeyFile: encrypted, passphrase: passphrase))
            #expect(context.configuration.privateKeyPassphrase == passphrase)
            for text in Self.renderings(context) {
                #expect(!text.contains("horse"), "\(text)")
            }
        }

        @Test("the private key of a SelfSignedCertificate")
        func selfSignedKey() async throws {
            let pair = try await offThread { try SelfSignedCertificate.generate(hostNames: ["mx.example.test"], keyType: .ecdsaP256) }
            #expect(pair.privateKeyPEM.contains("BEGIN PRIVATE KEY"))
            let body = pair.privateKeyPEM.split(separator: "\n")[1]
            for text in Self.renderings(pair) {
                #expect(!text.contains("PRIVATE KEY"), "\(text)")
                #expect(!text.contains(body), "\(text)")
            }
            #expect(Self.renderings(pair).contains { $0.contains("BEGIN CERTIFICATE") }, "the certificate itself is not secret")
        }
    }
}

extension MailTLSSuite.SecretsTests {
    @Test("a PEM file is read into one buffer of its size, which is zeroed when wiped")
    func pemBufferWiped() throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-pem")
        let text = "-----BEGIN PRIVATE KEY-----\n" + String(repeating: "QUJD", count: 5000) + "\n-----END PRIVATE KEY-----\n"
        let path = try directory.write("key.pem", text)
        let buffer = try PEMFile.read(path, what: "private key file")
        #expect(buffer.count == text.utf8.count)
        // The file's size and one byte to see the end: no second allocation, so no stale copy.
        #expect(buffer.capacity == text.utf8.count + 1)
        #expect(buffer.withUnsafeBytes { Array($0) } == Array(text.utf8))
        let base = buffer.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
        buffer.wipe()
        #expect(buffer.count == 0)
        let wiped = withExtendedLifetime(buffer) { UnsafeRawBufferPointer(start: base, count: text.utf8.count + 1).allSatisfy { $0 == 0 } }
        #expect(wiped)
    }

    @Test("a file larger than the limit is refused, naming it")
    func pemTooLarge() throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-pem")
        let path = directory.file("huge.pem")
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        #expect(ftruncate(fd, off_t(PEMFile.maximumSize + 1)) == 0)
        close(fd)
        let error = #expect(throws: TLSConfigurationError.self) { try PEMFile.read(path, what: "CA file") }
        #expect(error?.message.contains(path) == true && error?.message.contains("larger than") == true, "\(String(describing: error))")
    }
}
