import Foundation
import MailTLS
import Testing
import TestSupport

extension MailTLSSuite {
    @Suite("Self-signed certificates made through the OpenSSL API")
    struct SelfSignedCertificateTests {
        @Test("a generated pair is what openssl reads, written with safe permissions", arguments: [
            SelfSignedCertificate.KeyType.rsa(bits: 2048), .ecdsaP256,
        ])
        func generate(keyType: SelfSignedCertificate.KeyType) async throws {
            let directory = try TemporaryDirectory()
            let certificateFile = directory.file("tls/cert.pem")
            let keyFile = directory.file("tls/key.pem")
            try FileManager.default.createDirectory(atPath: directory.file("tls"), withIntermediateDirectories: true)
            let pair = try await offThread {
                try SelfSignedCertificate.generate(hostNames: ["mx.example.test", "localhost", "127.0.0.1", "::1"], keyType: keyType)
            }
            try pair.write(certificateFile: certificateFile, privateKeyFile: keyFile)

            let keyMode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
            let certificateMode = try FileManager.default.attributesOfItem(atPath: certificateFile)[.posixPermissions] as? Int
            #expect(keyMode == 0o600)
            #expect(certificateMode == 0o644)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("tls")).sorted() == ["cert.pem", "key.pem"])

            let text = try await ExternalTool.runChecked("openssl", ["x509", "-in", certificateFile, "-noout", "-text"]).standardOutput
            #expect(text.contains("Subject: CN = mx.example.test"))
            #expect(text.contains("Issuer: CN = mx.example.test"))
            #expect(text.contains("DNS:mx.example.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), "\(text)")
            #expect(text.contains("CA:FALSE"))
            #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
            #expect(text.contains("sha256WithRSAEncryption") || text.contains("ecdsa-with-SHA256"))
            try await ExternalTool.runChecked("openssl", ["x509", "-in", certificateFile, "-noout", "-checkend", "86400"])
            // The key belongs to the certificate: same public key.
            let fromKey = try await ExternalTool.runChecked("openssl", ["pkey", "-in", keyFile, "-pubout"]).standardOutput
            let fromCertificate = try await ExternalTool.runChecked("openssl", ["x509", "-in", certificateFile, "-noout", "-pubkey"]).standardOutput
            #expect(fromKey == fromCertificate)

            #expect(!pair.description.contains("PRIVATE KEY"))
            #expect(pair.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            let fingerprint = try await ExternalTool.runChecked(
                "openssl", ["x509", "-in", certificateFile, "-noout", "-fingerprint", "-sha256"]).standardOutput
            #expect(fingerprint.contains(pair.certificate.sha256Fingerprint))
        }

        @Test("a generated pair serves TLS and verifies as its own trust anchor")
        func serves() async throws {
            let directory = try TemporaryDirectory()
            let pair = try await offThread { try SelfSignedCertificate.generate(hostNames: ["mx.example.test"]) }
            try pair.write(certificateFile: directory.file("cert.pem"), privateKeyFile: directory.file("key.pem"))
            let server = try TLSServerContext(certificateChainFile: directory.file("cert.pem"), privateKeyFile: directory.file("key.pem"))
            let client = try TLSClientContext(configuration: .client(caFile: directory.file("cert.pem")))
            let handshake = try InMemoryPair(
                client: { try TLSHandler(clientContext: client, serverName: "mx.example.test",
                                         verification: .certificateAuthorityAndHostName(["mx.example.test"]), handshakePromise: $0) },
                server: { try TLSHandler(serverContext: server, handshakePromise: $0) })
            defer { handshake.finish() }
            handshake.interact()
            let facts = try #require(try InMemoryPair.outcome(handshake.clientHandshake)?.get())
            #expect(facts.verification == .ok)
            #expect(facts.peerCertificate?.sha256Fingerprint == pair.certificate.sha256Fingerprint)
        }

        @Test("writing again replaces the files whole")
        func replace() throws {
            let directory = try TemporaryDirectory()
            let first = try SelfSignedCertificate.generate(hostNames: ["one.example.test"], keyType: .ecdsaP256)
            let second = try SelfSignedCertificate.generate(hostNames: ["two.example.test"], keyType: .ecdsaP256)
            try first.write(certificateFile: directory.file("cert.pem"), privateKeyFile: directory.file("key.pem"))
            try second.write(certificateFile: directory.file("cert.pem"), privateKeyFile: directory.file("key.pem"))
            #expect(try String(contentsOfFile: directory.file("cert.pem"), encoding: .utf8) == second.certificatePEM)
            #expect(try TLSCertificate.load(pemFile: directory.file("cert.pem")).first?.subject == "/CN=two.example.test")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == 2)
        }

        @Test("names that could smuggle another entry, and weak keys, are refused", arguments: [
            "evil.example,DNS:victim.example", "", "mx.example.test\nIP:10.0.0.1", "a b",
        ])
        func badNames(name: String) throws {
            let error = #expect(throws: TLSConfigurationError.self) {
                try SelfSignedCertificate.generate(hostNames: [name], keyType: .ecdsaP256)
            }
            #expect(error?.kind == .generationFailed)
            let weak = #expect(throws: TLSConfigurationError.self) {
                try SelfSignedCertificate.generate(hostNames: ["mx.example.test"], keyType: .rsa(bits: 1024))
            }
            #expect(weak?.message.contains("1024 bits") == true)
        }

        @Test("a key file that cannot be written is named in the error")
        func unwritable() throws {
            let pair = try SelfSignedCertificate.generate(hostNames: ["mx.example.test"], keyType: .ecdsaP256)
            let error = #expect(throws: TLSConfigurationError.self) {
                try pair.write(certificateFile: "/nonexistent/dir/cert.pem", privateKeyFile: "/nonexistent/dir/key.pem")
            }
            #expect(error?.path == "/nonexistent/dir/key.pem")
            #expect(error?.message.contains("No such file or directory") == true)
        }
    }
}
