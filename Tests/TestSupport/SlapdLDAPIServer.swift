import Foundation

/// A private slapd like ``SlapdServer`` that also listens on a Unix socket (`ldapi://`), where a
/// SASL EXTERNAL bind authenticates the connecting process by its user and group IDs, and that
/// lets only authenticated clients read: anonymous searches are refused.
public final class SlapdLDAPIServer: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let port: Int
    public let suffix = "dc=example,dc=test"
    public let rootDN = "cn=admin,dc=example,dc=test"
    public let rootPassword = "test-secret"
    /// The DN an EXTERNAL bind over the socket is mapped to.
    public let externalDN = "cn=mail-router,dc=example,dc=test"
    public var uri: String { "ldap://127.0.0.1:\(port)/" }
    /// `ldapi://` with the socket's path percent-encoded.
    public var ldapiURI: String {
        "ldapi://" + directory.file("ldapi").replacingOccurrences(of: "/", with: "%2F")
    }

    private var process: BackgroundProcess?
    private let configPath: String

    public init(ldif: String) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-slapdi")
        port = try LoopbackPort.free()
        let database = directory.file("db")
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        let schemas = ["core", "cosine", "inetorgperson", "misc"]
            .map { "include /etc/ldap/schema/\($0).schema" }.joined(separator: "\n")
        configPath = try directory.write("slapd.conf", """
            \(schemas)
            pidfile \(directory.file("slapd.pid"))
            modulepath /usr/lib/ldap
            moduleload back_mdb
            authz-regexp "gidNumber=[0-9]+\\\\+uidNumber=[0-9]+,cn=peercred,cn=external,cn=auth" "\(externalDN)"
            database mdb
            maxsize 16777216
            suffix "\(suffix)"
            rootdn "\(rootDN)"
            rootpw \(rootPassword)
            directory \(database)
            index objectClass eq
            index mailLocalAddress eq
            access to * by users read by anonymous auth by * none

            """)
        let base = """
            dn: \(suffix)
            objectClass: dcObject
            objectClass: organization
            dc: example
            o: Example

            """
        try directory.write("data.ldif", base + "\n" + ldif)
        try ExternalTool.runChecked("slapadd", ["-f", configPath, "-l", directory.file("data.ldif")])
        try start()
    }

    /// Starts slapd as a ``BackgroundProcess`` and waits for both listeners.
    public func start() throws {
        guard process == nil else { return }
        let process = try BackgroundProcess("slapd", ["-f", configPath, "-h", "\(uri) \(ldapiURI)", "-d", "0"])
        self.process = process
        do {
            try LoopbackPort.waitUntilAccepting(port)
            let deadline = ContinuousClock.now + .seconds(10)
            while !FileManager.default.fileExists(atPath: directory.file("ldapi")), ContinuousClock.now < deadline {
                usleep(20_000)
            }
        } catch {
            stop()
            throw TestSupportError("slapd did not start on \(uri): \(error) \(process.output())")
        }
    }

    /// Stops slapd with SIGKILL and waits for it and its watchdog.
    public func stop() {
        process?.stop()
        process = nil
    }

    deinit {
        stop()
    }
}
