import Foundation
import MailAuth
import MailMapsLDAP
import TestSupport
import Testing

/// What happens once per process — libsasl2's initialisation — tested in fresh child processes of
/// this test bundle, each running one `child…` test (skipped in an ordinary run).
@Suite("Cyrus SASL, once per process", .serialized)
struct CyrusProcessTests {
    @Test("libldap and the bridge initialise libsasl2 at the same moment, and exchanges then work", .enabled(if: ChildProcess.isChild))
    func childLDAPAndCyrusTogether() async throws {
        let fixture = try await CyrusFixture.make()
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let failures = ThreadRecorder()
        for side in 0..<2 {
            done.enter()
            Thread {
                gate.wait()
                if side == 0 {
                    if (try? CyrusSASL.initialize()) == nil { failures.recordCurrent() }
                } else {
                    // ldap_initialize runs libldap's one-time set-up, which initialises libsasl2.
                    if (try? LDAPConnection(uri: "ldap://127.0.0.1:9")) == nil { failures.recordCurrent() }
                }
                done.leave()
            }.start()
        }
        gate.signal()
        gate.signal()
        done.wait()
        #expect(failures.recorded.isEmpty)
        // Connections are made and disposed of (sasl_dispose takes libsasl2's mutex).
        let server = try fixture.server()
        for _ in 0..<4 {
            var mechanism = try server.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
            #expect(try await mechanism.start(initialResponse: Array("\0alice\0wonder land".utf8)).success != nil)
        }
    }

    @Test("libldap and the bridge starting libsasl2 at once never crash (60 fresh processes)")
    func ldapAndCyrusTogether() async throws {
        let runs = try await offThread { () throws -> [(status: Int32, output: String, crashed: Bool)] in
            try (0..<60).map { _ in try ChildProcess.run(test: "childLDAPAndCyrusTogether", environment: [:]) }
        }
        let failed = runs.filter { $0.status != 0 || !$0.output.contains("passed") }
        #expect(failed.isEmpty, "\(failed.count) of \(runs.count) processes failed (\(failed.filter(\.crashed).count) crashed): \(failed.first?.output.suffix(2000) ?? "")")
    }

    static let hostileVariable = "SWIFTMTA_HOSTILE_SASL_DIR"

    @Test(
        "child: a hostile swiftmta.conf on SASL_CONF_PATH is never read",
        .enabled(if: ChildProcess.isChild && ChildProcess.environment(hostileVariable) != nil))
    func childHostileConfiguration() async throws {
        let directory = try #require(ChildProcess.environment(Self.hostileVariable))
        #expect(FileManager.default.isReadableFile(atPath: directory + "/swiftmta.conf"))
        let fixture = try await CyrusFixture.make()
        // libsasl2 starts here, in this fresh process, with the hostile file in its path.
        try CyrusSASL.initialize()

        // Not given a mech_list: every installed plugin, not the file's "ANONYMOUS CRAM-MD5".
        let configured = try fixture.server()
        #expect(configured.mechanisms.contains(.plain) && configured.mechanisms.contains(.scramSHA256), "\(configured.mechanisms)")
        var alice = try configured.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        #expect(try await alice.start(initialResponse: Array("\0alice\0wonder land".utf8)).success != nil)

        // saslauthd only, with no sasldb configured: the file's sasldb (which knows mallory) must
        // not answer for CRAM-MD5 — nor would /etc/sasldb2.
        let saslauthdOnly = try CyrusSASLServer(configuration: .init(
            serverName: CyrusFixture.serverName, passwordCheck: [.saslauthd], saslauthdPath: directory + "/no-saslauthd",
            mechanisms: [.cramMD5, .plain]))
        var server = try saslauthdOnly.makeMechanism(.cramMD5, context: SASLServerContext(isSecure: true))
        var client: any SASLClientMechanism = CRAMMD5ClientMechanism(
            credentials: SASLClientCredentials(authenticationIdentity: "mallory", password: "hostile"))
        let error = await #expect(throws: SASLError.self) { try await SASLExchange.run(client: &client, server: &server) }
        // No store: libsasl2 finds no auxiliary property plugin (SASL_NOMECH) for the secret.
        #expect(error?.kind == .mechanismUnavailable || error?.kind == .authenticationFailed, "\(String(describing: error))")
        // And PLAIN goes to saslauthd (which is not running): a temporary failure, not the file's sasldb.
        var plain = try saslauthdOnly.makeMechanism(.plain, context: SASLServerContext(isSecure: true))
        let unavailable = await #expect(throws: SASLError.self) {
            try await plain.start(initialResponse: Array("\0mallory\0hostile".utf8))
        }
        #expect(unavailable?.kind == .temporaryFailure, "\(String(describing: unavailable))")
    }

    /// The hostile set-up: reproduces libsasl2's fallback to `<app>.conf` through `SASL_CONF_PATH`,
    /// which libsasl2 reads exactly as `/etc/sasl2` (its default configuration path), without
    /// touching the machine's /etc for other processes.
    @Test("a hostile swiftmta.conf (its own sasldb, mech_list, pwcheck_method) changes nothing")
    func hostileConfiguration() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-hostile-sasl")
        let sasldb = directory.file("sasldb2")
        _ = try directory.write("swiftmta.conf", """
            pwcheck_method: auxprop
            auxprop_plugin: sasldb
            sasldb_path: \(sasldb)
            mech_list: ANONYMOUS CRAM-MD5
            auto_transition: yes
            log_level: 7

            """)
        let result = try await offThread { () throws -> (status: Int32, output: String, crashed: Bool) in
            try ExternalTool.runChecked(
                "saslpasswd2", ["-p", "-c", "-f", sasldb, "-a", "swiftmta", "-u", CyrusFixture.serverName, "mallory"],
                input: "hostile")
            return try ChildProcess.run(
                test: "childHostileConfiguration",
                environment: ["SASL_CONF_PATH": directory.path, Self.hostileVariable: directory.path])
        }
        #expect(result.status == 0 && result.output.contains("passed"), "\(result.output.suffix(3000))")
    }
}
