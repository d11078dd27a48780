import Foundation
import MailTLS
import Testing
import TestSupport

/// A key and self-signed certificate made the seed's way: `openssl genrsa`, `req -new`, `x509 -req -signkey`.
struct SelfSignedPair {
    let directory: TemporaryDirectory
    let key: String
    let certificate: String

    init(commonName: String = "mx.example.test", passphrase: String? = nil, bits: Int = 2048, days: Int = 1825) throws {
        directory = try TemporaryDirectory()
        key = directory.file("sendmail.key")
        certificate = directory.file("sendmail.crt")
        let request = directory.file("sendmail.csr")
        var keyArguments = ["genrsa", "-out", key]
        if let passphrase { keyArguments += ["-aes256", "-passout", "pass:\(passphrase)"] }
        try ExternalTool.runChecked("openssl", keyArguments + ["\(bits)"])
        let passIn = passphrase.map { ["-passin", "pass:\($0)"] } ?? []
        try ExternalTool.runChecked(
            "openssl", ["req", "-new", "-key", key, "-out", request, "-subj", "/CN=\(commonName)"] + passIn)
        try ExternalTool.runChecked(
            "openssl", ["x509", "-req", "-days", "\(days)", "-in", request, "-signkey", key, "-out", certificate] + passIn)
    }
}

extension MailTLSSuite {
    @Suite("OpenSSL server contexts from PEM files")
    struct TLSServerContextTests {
        @Test("the loaded OpenSSL library reports its version")
        func version() {
            #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3"))
            #expect(OpenSSLLibrary.versionNumber >= 0x3000_0000)
        }

        @Test("a self-signed pair made as in the seed loads")
        func loadsPair() async throws {
            let pair = try await offThread { try SelfSignedPair() }
            let context = try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
            #expect(context.certificateSubject == "/CN=mx.example.test")
        }

        @Test("an encrypted key loads with its passphrase and fails clearly without it")
        func encryptedKey() async throws {
            let pair = try await offThread { try SelfSignedPair(passphrase: "correct horse") }
            _ = try TLSServerContext(
                certificateChainFile: pair.certificate, privateKeyFile: pair.key, passphrase: "correct horse")

            let missing = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
            }
            #expect(missing?.kind == .encryptedKey)
            #expect(missing?.message.contains("no passphrase") == true)

            let wrong = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: pair.key, passphrase: "battery staple")
            }
            #expect(wrong?.kind == .encryptedKey)
            #expect(wrong?.message.contains("battery staple") == false, "a passphrase must never appear in an error")
        }

        @Test("a missing file is named in the error")
        func missingFile() async throws {
            let pair = try await offThread { try SelfSignedPair() }
            let absent = pair.directory.file("absent.crt")
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: absent, privateKeyFile: pair.key)
            }
            #expect(error?.kind == .unreadableFile)
            #expect(error?.path == absent)
            #expect(error?.message.contains("No such file or directory") == true)
        }

        @Test("garbled PEM is a clear error", arguments: [
            "not a certificate at all\n",
            "-----BEGIN CERTIFICATE-----\nMIIB!!!!garbage!!!!\n-----END CERTIFICATE-----\n",
            "",
        ])
        func garbledCertificate(contents: String) async throws {
            let pair = try await offThread { try SelfSignedPair() }
            let garbled = try pair.directory.write("garbled.crt", contents)
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: garbled, privateKeyFile: pair.key)
            }
            #expect(error?.kind == .malformedPEM)
            #expect(error?.message.contains(garbled) == true)
        }

        @Test("a garbled key is a clear error")
        func garbledKey() async throws {
            let pair = try await offThread { try SelfSignedPair() }
            let garbled = try pair.directory.write(
                "garbled.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: garbled)
            }
            #expect(error?.kind == .malformedPEM)
            #expect(error?.message.contains(garbled) == true)
        }

        @Test("a key that does not match its certificate is refused")
        func mismatchedKey() async throws {
            let first = try await offThread { try SelfSignedPair(commonName: "one.example.test") }
            let second = try await offThread { try SelfSignedPair(commonName: "two.example.test") }
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: first.certificate, privateKeyFile: second.key)
            }
            #expect(error?.kind == .keyMismatch)
            #expect(error?.message.contains(second.key) == true)
            #expect(error?.message.contains(first.certificate) == true)
        }
    }
}
