import Foundation
import MailAuth
import Testing
import TestSupport

@Suite("Cyrus SASL (libsasl2)")
struct CyrusSASLTests {
    @Test("initialises libsasl2 once, however often and from however many threads it is called")
    func initialisesOnce() async throws {
        // Every entry point, from many threads at once.
        let fixture = try await CyrusFixture.make()
        let errors = try await offThread { () -> Int in
            let group = DispatchGroup()
            let failures = ThreadRecorder()
            for index in 0..<16 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        switch index % 4 {
                        case 0: try CyrusSASL.initialize()
                        case 1: _ = try CyrusSASL.availableMechanisms()
                        case 2: _ = try fixture.server()
                        default: _ = try CyrusSASLClientMechanism(
                            mechanism: .plain, credentials: SASLClientCredentials(authenticationIdentity: "a", password: "b"),
                            serverName: CyrusFixture.serverName)
                        }
                    } catch {
                        failures.recordCurrent()
                    }
                }.start()
            }
            group.wait()
            return failures.recorded.count
        }
        try CyrusSASL.initialize()
        #expect(errors == 0)
        // This process called sasl_server_init once, and libsasl2 ran its initialisation once (it
        // asks for plugin_list exactly then; a repeated call would only count a reference).
        #expect(CyrusSASL.libraryInitializationCount == 1)
        #expect(CyrusSASL.pluginListQueryCount == 1)
        #expect(CyrusSASL.version.hasPrefix("2."))
    }

    @Test("lists the mechanisms of the installed plugins")
    func listsMechanisms() throws {
        let mechanisms = try CyrusSASL.availableMechanisms()
        // libsasl2-modules ships these; the seed's server offers exactly these four.
        for name in ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"] {
            #expect(mechanisms.contains(name), "\(name) missing from \(mechanisms)")
        }
        #expect(mechanisms == mechanisms.sorted())
    }

    @Test("the configuration's options (sql_passwd) never show in descriptions or dump()")
    func optionsRedacted() async throws {
        let fixture = try await CyrusFixture.make()
        var configuration = fixture.configuration
        configuration.options["sql_passwd"] = "s3cr3t-sql"
        configuration.options["ldapdb_pw"] = "s3cr3t-ldap"
        #expect(configuration.options["sql_passwd"] == "s3cr3t-sql")
        let server = try CyrusSASLServer(configuration: configuration)
        for value in [configuration, server] as [Any] {
            var dumped = ""
            dump(value, to: &dumped)
            for text in [dumped, String(describing: value), String(reflecting: value), "\(value)"] {
                #expect(!text.contains("s3cr3t"), "\(text)")
            }
        }
        #expect(String(describing: configuration).contains("sql_passwd=<redacted>"))
    }
}
