import Foundation
import MailTLS
import Testing
import TestSupport

extension MailTLSSuite {
    @Suite("TLS configurations: every problem is a clear error at load time")
    struct TLSConfigurationTests {
        @Test("an expired certificate is refused, naming the file and the date")
        func expired() async throws {
            let pair = try await offThread { try SelfSignedPair(days: -1) }
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
            }
            #expect(error?.kind == .expiredCertificate)
            #expect(error?.path == pair.certificate)
            #expect(error?.message.contains("expired on") == true, "\(String(describing: error))")
            #expect(error?.message.contains("/CN=mx.example.test") == true)
        }

        @Test("a certificate that is not valid yet is refused")
        func notYetValid() async throws {
            let directory = try TemporaryDirectory()
            let key = directory.file("key.pem")
            let request = directory.file("request.csr")
            let certificate = directory.file("future.crt")
            try await ExternalTool.runChecked("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
            try await ExternalTool.runChecked("openssl", ["req", "-new", "-key", key, "-subj", "/CN=mx.example.test", "-out", request])
            try directory.write("index.txt", "")
            try directory.write("serial", "01\n")
            let configuration = try directory.write("ca.cnf", """
                [ca]
                default_ca = local
                [local]
                database = \(directory.file("index.txt"))
                new_certs_dir = \(directory.path)
                serial = \(directory.file("serial"))
                default_md = sha256
                policy = anything
                [anything]
                commonName = supplied

                """)
            try await ExternalTool.runChecked("openssl", [
                "ca", "-batch", "-config", configuration, "-selfsign", "-keyfile", key, "-in", request,
                "-startdate", "20991231000000Z", "-enddate", "21001231000000Z", "-out", certificate,
            ])
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: certificate, privateKeyFile: key)
            }
            #expect(error?.kind == .certificateNotYetValid)
            #expect(error?.message.contains("2099") == true, "\(String(describing: error))")
        }

        @Test("settings OpenSSL refuses are named", arguments: [
            ("cipher list", "NO-SUCH-CIPHER"),
            ("cipher suites", "TLS_NO_SUCH_SUITE"),
            ("versions", ""),
            ("security level", ""),
        ])
        func refusedSettings(setting: String, value: String) async throws {
            let pki = try await TestPKI.sharedOffThread()
            let error = #expect(throws: TLSConfigurationError.self) {
                try pki.serverContext {
                    switch setting {
                    case "cipher list": $0.cipherList = value
                    case "cipher suites": $0.cipherSuites = value
                    case "versions":
                        $0.minimumProtocolVersion = .tls1_3
                        $0.maximumProtocolVersion = .tls1_2
                    default: $0.securityLevel = 9
                    }
                }
            }
            #expect(error?.kind == .rejectedSetting)
            switch setting {
            case "versions": #expect(error?.message.contains("TLSv1.2 is older than the minimum version TLSv1.3") == true)
            case "security level": #expect(error?.message.contains("security level 9") == true)
            default: #expect(error?.message.contains(value) == true, "\(String(describing: error))")
            }
        }

        @Test("CA files and directories that cannot be used are named")
        func caLocations() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let directory = try TemporaryDirectory()
            let missing = directory.file("no-such-dir")
            let missingError = #expect(throws: TLSConfigurationError.self) {
                try TLSClientContext(configuration: .client(caDirectory: missing))
            }
            #expect(missingError?.kind == .unreadableFile)
            #expect(missingError?.message.contains(missing) == true)
            #expect(missingError?.message.contains("No such file or directory") == true)

            let notDirectory = #expect(throws: TLSConfigurationError.self) {
                try TLSClientContext(configuration: .client(caDirectory: pki.rootCertificate))
            }
            #expect(notDirectory?.message.contains("is not a directory") == true)

            let garbled = try directory.write("ca.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
            let garbledError = #expect(throws: TLSConfigurationError.self) {
                try TLSClientContext(configuration: .client(caFile: garbled))
            }
            #expect(garbledError?.kind == .malformedPEM)
            #expect(garbledError?.message.contains("CA file \(garbled)") == true)
        }

        @Test("a server needs a certificate and key; a client certificate needs its key")
        func missingSettings() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let none = #expect(throws: TLSConfigurationError.self) { try TLSServerContext(configuration: TLSConfiguration()) }
            #expect(none?.kind == .missingSetting)
            let noKey = #expect(throws: TLSConfigurationError.self) {
                try pki.clientContext { $0.certificateChainFile = pki.clientCertificate }
            }
            #expect(noKey?.kind == .missingSetting)
            #expect(noKey?.message.contains(pki.clientCertificate) == true)
            let mismatch = #expect(throws: TLSConfigurationError.self) {
                try pki.clientContext {
                    $0.certificateChainFile = pki.clientCertificate
                    $0.privateKeyFile = pki.serverKey
                }
            }
            #expect(mismatch?.kind == .keyMismatch)
        }

        @Test("a configuration's description never shows the passphrase")
        func redacted() {
            var configuration = TLSConfiguration.server(
                certificateChainFile: "/etc/mail/certs/sendmail.crt", privateKeyFile: "/etc/mail/certs/sendmail.key",
                passphrase: "correct horse battery staple")
            configuration.caDirectory = "/etc/mail/certs"
            #expect(!configuration.description.contains("correct horse"))
            #expect(configuration.description.contains("passphrase=<redacted>"))
            #expect(configuration.description.contains("ca_path=/etc/mail/certs"))
            #expect(configuration.description.contains("min_version=TLSv1.2"))
        }

        @Test("protocol versions are named as OpenSSL names them", arguments: [
            ("TLSv1.3", TLSProtocolVersion.tls1_3), ("1.2", .tls1_2), ("TLSv1", .tls1_0), ("1.1", .tls1_1),
        ])
        func versionNames(name: String, version: TLSProtocolVersion) {
            #expect(TLSProtocolVersion(name: name) == version)
            #expect(TLSProtocolVersion(name: version.description) == version)
            #expect(TLSProtocolVersion(name: "SSLv3") == nil)
        }

        @Test("a certificate file's chain loads as values with the facts logs use")
        func certificateValues() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let chain = try TLSCertificate.load(pemFile: pki.serverChain)
            #expect(chain.map(\.subject) == ["/O=SwiftMTA Tests/CN=mx.example.test", "/O=SwiftMTA Tests/CN=SwiftMTA Test Intermediate CA"])
            #expect(chain[0].issuer == chain[1].subject)
            let md5 = try await ExternalTool.runChecked("openssl", ["x509", "-in", pki.serverLeaf, "-noout", "-fingerprint", "-md5"]).standardOutput
            #expect(md5.contains(chain[0].md5Fingerprint))
            let directory = try TemporaryDirectory()
            try await ExternalTool.runChecked("openssl", ["x509", "-in", pki.serverLeaf, "-outform", "DER", "-out", directory.file("leaf.der")])
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("leaf.der"))) == Data(chain[0].der))
        }
    }
}
