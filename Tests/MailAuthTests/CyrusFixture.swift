import Foundation
import MailAuth
import TestSupport

/// A private sasldb2 made by Cyrus's own `saslpasswd2 -f FILE -a APPNAME` in a temporary
/// directory, and the configurations that point libsasl2 at it (never at /etc/sasldb2).
final class CyrusFixture: Sendable {
    static let serverName = "mx.example.test"
    static let users = [("alice", "wonder land"), ("bob", "b0b-secret")]

    let directory: TemporaryDirectory
    let sasldbPath: String

    /// Makes the fixture on a thread of its own: saslpasswd2 runs while the test waits, and the
    /// cooperative pool stays free for servers other tests run in this process.
    static func make() async throws -> CyrusFixture {
        try await offThread { try CyrusFixture() }
    }

    private init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-sasldb")
        sasldbPath = directory.file("sasldb2")
        for (user, password) in Self.users {
            // -p reads the password from standard input; -c creates the user; -u is the realm.
            try ExternalTool.runChecked(
                "saslpasswd2", ["-p", "-c", "-f", sasldbPath, "-a", "swiftmta", "-u", Self.serverName, user],
                input: password)
        }
    }

    var configuration: CyrusSASLServer.Configuration {
        // libsasl2 2.1.28 derives SCRAM keys 10,000 times by default; RFC 7677's 4,096 keeps the
        // tests quick.
        CyrusSASLServer.Configuration(
            serverName: Self.serverName, sasldbPath: sasldbPath, options: ["scram_iteration_counter": "4096"])
    }

    func server(mechanisms: [SASLMechanismName]? = nil) throws -> CyrusSASLServer {
        var configuration = configuration
        configuration.mechanisms = mechanisms
        return try CyrusSASLServer(configuration: configuration)
    }

    /// The same users in a SwiftMTA password file, as `{PLAIN}` (CRAM-MD5 and DIGEST-MD5 need it).
    func passwordFile() throws -> SASLPasswordFile {
        try SASLPasswordFile(
            contents: Self.users.map { "\($0.0): {PLAIN}\($0.1)" }.joined(separator: "\n"), path: "cyrus-users")
    }
}
