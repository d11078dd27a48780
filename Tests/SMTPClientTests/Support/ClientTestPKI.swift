import Foundation
import TestSupport

/// A test CA and what it signed, made with the openssl command line once per run: a server
/// certificate for mx.example.test (SAN also localhost and 127.0.0.1) and a client certificate.
final class ClientTestPKI: Sendable {
    let directory: TemporaryDirectory
    let caCertificate: String
    let serverCertificate: String
    let serverKey: String
    let clientCertificate: String
    let clientKey: String

    private static let cached: Result<ClientTestPKI, any Error> = Result { try ClientTestPKI() }

    /// The run's PKI, made on a thread of its own the first time.
    static func shared() async throws -> ClientTestPKI {
        try await offThread { try cached.get() }
    }

    private init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-client-pki")
        let d = directory
        try d.write("ext.cnf", """
            [server]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:mx.example.test,DNS:localhost,IP:127.0.0.1
            [client]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = clientAuth
            """)
        func openssl(_ arguments: [String]) throws {
            try ExternalTool.runChecked("openssl", arguments)
        }
        caCertificate = d.file("ca.pem")
        serverCertificate = d.file("server.pem")
        serverKey = d.file("server.key")
        clientCertificate = d.file("client.pem")
        clientKey = d.file("client.key")
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d.file("ca.key"), "-out", caCertificate,
                     "-days", "2", "-subj", "/O=SwiftMTA tests/CN=Client Test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        for (name, subject) in [("server", "/CN=mx.example.test"), ("client", "/CN=client.example.test")] {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", d.file("\(name).key"), "-out", d.file("\(name).csr"),
                         "-subj", "/O=SwiftMTA tests\(subject)"])
            try openssl(["x509", "-req", "-in", d.file("\(name).csr"), "-CA", caCertificate, "-CAkey", d.file("ca.key"),
                         "-CAcreateserial", "-days", "2", "-out", d.file("\(name).pem"), "-extfile", d.file("ext.cnf"),
                         "-extensions", name])
        }
    }
}
