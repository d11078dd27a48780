import Foundation

/// A private OpenLDAP server (slapd) on a free loopback port, with its own configuration and
/// database in a temporary directory, loaded with the entries a test gives.
///
/// The schemas core, cosine, inetorgperson and misc are loaded; misc carries `mailLocalAddress`
/// and `mailRoutingAddress`, the attributes of Sendmail's LDAP routing.
///
/// With `externalAuthentication`, slapd also listens on a Unix socket (`ldapi://`), where a SASL
/// EXTERNAL bind authenticates the connecting process by its user and group IDs (as
/// ``externalDN``), and only authenticated clients may read: anonymous searches are refused.
public final class SlapdServer: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let port: Int
    public let suffix = "dc=example,dc=test"
    public let rootDN = "cn=admin,dc=example,dc=test"
    public let rootPassword = "test-secret"
    public var uri: String { "ldap://127.0.0.1:\(port)/" }
    /// The DN an EXTERNAL bind over the socket is mapped to.
    public let externalDN = "cn=mail-router,dc=example,dc=test"
    /// `ldapi://` with the socket's path percent-encoded (with `externalAuthentication` only).
    public var ldapiURI: String {
        "ldapi://" + directory.file("ldapi").replacingOccurrences(of: "/", with: "%2F")
    }

    private var process: BackgroundProcess?
    private let configPath: String
    private let externalAuthentication: Bool

    /// Writes the configuration, loads `ldif` (entries below ``suffix``; the suffix entry itself is
    /// added first) with slapadd, and starts slapd.
    public init(ldif: String, externalAuthentication: Bool = false) throws {
        self.externalAuthentication = externalAuthentication
        directory = try TemporaryDirectory(prefix: "swiftmta-slapd")
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
            \(externalAuthentication ? "authz-regexp \"gidNumber=[0-9]+\\\\+uidNumber=[0-9]+,cn=peercred,cn=external,cn=auth\" \"\(externalDN)\"" : "")
            database mdb
            maxsize 16777216
            suffix "\(suffix)"
            rootdn "\(rootDN)"
            rootpw \(rootPassword)
            directory \(database)
            index objectClass eq
            index mailLocalAddress eq
            \(externalAuthentication ? "access to * by users read by anonymous auth by * none" : "")

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

    /// Starts slapd (again) on the same port and waits until it accepts connections. It runs as a
    /// ``BackgroundProcess``, so a crashed test leaves no server behind.
    public func start() throws {
        guard process == nil else { return }
        // -d 0 keeps slapd in the foreground, a child of the watchdog.
        let listeners = externalAuthentication ? "\(uri) \(ldapiURI)" : uri
        let process = try BackgroundProcess("slapd", ["-f", configPath, "-h", listeners, "-d", "0"])
        self.process = process
        do {
            try LoopbackPort.waitUntilAccepting(port)
            let deadline = ContinuousClock.now + .seconds(10)
            while externalAuthentication, !FileManager.default.fileExists(atPath: directory.file("ldapi")), ContinuousClock.now < deadline {
                usleep(20_000)
            }
        } catch {
            stop()
            throw TestSupportError("slapd did not start on \(uri): \(error) \(process.output())")
        }
    }

    /// Stops slapd (SIGKILL; the database, MDB, survives it) and waits until the port is free, so
    /// that a restart can bind it again.
    public func stop() {
        guard let process else { return }
        process.stop()
        let deadline = ContinuousClock.now + .seconds(10)
        while LoopbackPort.isAccepting(port), ContinuousClock.now < deadline {
            usleep(20_000)
        }
        self.process = nil
    }

    deinit {
        stop()
    }
}
