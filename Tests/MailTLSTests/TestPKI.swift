import Foundation
import MailTLS
import TestSupport

/// A small PKI made with the openssl command line, once per test run: a root CA, an intermediate
/// CA, a server certificate for mx.example.test signed by the intermediate, a client certificate
/// signed by the root, and a second, untrusted root with its own mx.example.test certificate.
final class TestPKI: Sendable {
    let directory: TemporaryDirectory
    /// Root CA certificate (PEM), trusted by the tests' contexts.
    let rootCertificate: String
    /// A directory holding the root under its subject hash, as `openssl rehash` leaves it.
    let rootDirectory: String
    /// The intermediate CA certificate.
    let intermediateCertificate: String
    /// mx.example.test (SAN DNS:mx.example.test, DNS:localhost, IP:127.0.0.1): leaf then
    /// intermediate.
    let serverChain: String
    let serverLeaf: String
    let serverKey: String
    /// client.example.test, signed by the root.
    let clientCertificate: String
    let clientKey: String
    /// A root nobody trusts, and an mx.example.test certificate it signed.
    let untrustedRootCertificate: String
    let untrustedServerCertificate: String
    let untrustedServerKey: String

    private static let cached: Result<TestPKI, any Error> = Result { try TestPKI() }

    /// The run's PKI, made on first use. Synchronous tests (those that drive EmbeddedChannels,
    /// which must stay on one thread) use this.
    static func shared() throws -> TestPKI {
        try cached.get()
    }

    /// The run's PKI, made (if need be) on a thread of its own, so that running openssl never
    /// holds one of Swift concurrency's few threads. Tests that drive EmbeddedChannels await this
    /// first and then run synchronously: with no suspension point after it, they stay on one
    /// thread, as EmbeddedChannels require.
    static func sharedOffThread() async throws -> TestPKI {
        try await offThread { try cached.get() }
    }

    private init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-pki")
        let d = directory
        try d.write("ca.ext", """
            [ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid
            [server]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:mx.example.test,DNS:localhost,IP:127.0.0.1
            [client]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = clientAuth
            subjectAltName = DNS:client.example.test

            """)

        rootCertificate = d.file("root.crt")
        try Self.key(d.file("root.key"))
        try ExternalTool.runChecked("openssl", [
            "req", "-x509", "-new", "-key", d.file("root.key"), "-subj", "/O=SwiftMTA Tests/CN=SwiftMTA Test Root CA",
            "-days", "30", "-out", rootCertificate,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        intermediateCertificate = d.file("intermediate.crt")
        try Self.issue(
            d, name: "intermediate", subject: "/O=SwiftMTA Tests/CN=SwiftMTA Test Intermediate CA",
            issuer: "root", section: "ca")
        serverLeaf = d.file("server.crt")
        serverKey = d.file("server.key")
        try Self.issue(d, name: "server", subject: "/O=SwiftMTA Tests/CN=mx.example.test", issuer: "intermediate", section: "server")
        serverChain = try d.write(
            "server-chain.crt",
            String(contentsOfFile: serverLeaf, encoding: .utf8) + String(contentsOfFile: intermediateCertificate, encoding: .utf8))
        clientCertificate = d.file("client.crt")
        clientKey = d.file("client.key")
        try Self.issue(d, name: "client", subject: "/O=SwiftMTA Tests/CN=client.example.test", issuer: "root", section: "client")

        untrustedRootCertificate = d.file("untrusted-root.crt")
        try Self.key(d.file("untrusted-root.key"))
        try ExternalTool.runChecked("openssl", [
            "req", "-x509", "-new", "-key", d.file("untrusted-root.key"), "-subj", "/CN=Untrusted Root CA",
            "-days", "30", "-out", untrustedRootCertificate,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        untrustedServerCertificate = d.file("untrusted-server.crt")
        untrustedServerKey = d.file("untrusted-server.key")
        try Self.issue(d, name: "untrusted-server", subject: "/CN=mx.example.test", issuer: "untrusted-root", section: "server")

        rootDirectory = d.file("cadir")
        try FileManager.default.createDirectory(atPath: rootDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: rootCertificate, toPath: rootDirectory + "/root.pem")
        try ExternalTool.runChecked("openssl", ["rehash", rootDirectory])
    }

    /// An EC P-256 key (fast to make; RSA keys are made where RSA matters).
    private static func key(_ path: String) throws {
        try ExternalTool.runChecked("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
    }

    private static func issue(_ d: TemporaryDirectory, name: String, subject: String, issuer: String, section: String) throws {
        try key(d.file("\(name).key"))
        try ExternalTool.runChecked("openssl", [
            "req", "-new", "-key", d.file("\(name).key"), "-subj", subject, "-out", d.file("\(name).csr"),
        ])
        try ExternalTool.runChecked("openssl", [
            "x509", "-req", "-in", d.file("\(name).csr"), "-CA", d.file("\(issuer).crt"), "-CAkey", d.file("\(issuer).key"),
            "-CAcreateserial", "-days", "30", "-extfile", d.file("ca.ext"), "-extensions", section,
            "-out", d.file("\(name).crt"),
        ])
    }

    // MARK: - Contexts

    /// A server context presenting the mx.example.test chain.
    func serverContext(_ adjust: (inout TLSConfiguration) -> Void = { _ in }) throws -> TLSServerContext {
        var configuration = TLSConfiguration.server(certificateChainFile: serverChain, privateKeyFile: serverKey)
        configuration.caFile = rootCertificate
        adjust(&configuration)
        return try TLSServerContext(configuration: configuration)
    }

    /// A client context trusting the root.
    func clientContext(_ adjust: (inout TLSConfiguration) -> Void = { _ in }) throws -> TLSClientContext {
        var configuration = TLSConfiguration.client(caFile: rootCertificate)
        adjust(&configuration)
        return try TLSClientContext(configuration: configuration)
    }

    /// A TLSA record computed by the openssl command line: `selector` 0 hashes the certificate's
    /// DER, 1 its SubjectPublicKeyInfo; `matchingType` 0 is the data itself, 1 SHA-256, 2 SHA-512.
    static func tlsa(usage: Int, selector: Int, matchingType: Int, certificate: String) async throws -> TLSARecord {
        try await offThread { try tlsaBlocking(usage: usage, selector: selector, matchingType: matchingType, certificate: certificate) }
    }

    static func tlsaBlocking(usage: Int, selector: Int, matchingType: Int, certificate: String) throws -> TLSARecord {
        let directory = try TemporaryDirectory(prefix: "swiftmta-tlsa")
        let der = directory.file("selected.der")
        if selector == 0 {
            try ExternalTool.runChecked("openssl", ["x509", "-in", certificate, "-outform", "DER", "-out", der])
        } else {
            let pem = directory.file("spki.pem")
            try ExternalTool.runChecked("openssl", ["x509", "-in", certificate, "-pubkey", "-noout", "-out", pem])
            try ExternalTool.runChecked("openssl", ["pkey", "-pubin", "-in", pem, "-outform", "DER", "-out", der])
        }
        let hex: String
        switch matchingType {
        case 0:
            hex = try Data(contentsOf: URL(fileURLWithPath: der)).map { String(format: "%02x", $0) }.joined()
        default:
            let digest = matchingType == 1 ? "-sha256" : "-sha512"
            let output = try ExternalTool.runChecked("openssl", ["dgst", digest, "-r", der]).standardOutput
            hex = String(output.prefix { $0 != " " })
        }
        return try TLSARecord(presentation: "\(usage) \(selector) \(matchingType) \(hex.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}
