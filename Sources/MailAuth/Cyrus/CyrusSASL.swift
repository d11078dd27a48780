internal import CSASL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process-wide Cyrus SASL library (libsasl2), the bridge that lets existing sasldb2,
/// saslauthd and PAM set-ups authenticate SwiftMTA's users unchanged.
///
/// libsasl2 must be initialised once per process, before any connection object exists, and
/// its plugins (the mechanisms) are found at that point. ``initialize()`` does that exactly once,
/// however many threads call it; later calls return the first outcome. It loads the plugin files
/// (a few milliseconds of disk reads): call it at start-up, not on an event loop. The bridge's
/// types call it themselves.
///
/// At initialisation libsasl2 reads `<applicationName>.conf` from its configuration directory
/// (`/etc/sasl2`, or `SASL_CONF_PATH`) if present, which only decides which plugins load; every
/// per-exchange option comes from ``CyrusSASLServer/Configuration`` through the bridge's GETOPT
/// callback.
public enum CyrusSASL {
    /// The application name libsasl2 uses to find its configuration (`/etc/sasl2/<name>.conf`,
    /// `/usr/lib/sasl2/<name>.conf`), as Sendmail uses `Sendmail`.
    public static let applicationName = "swiftmta"

    private static let initialization: Result<Void, CyrusSASLError> = {
        let server = sasl_server_init(nil, applicationName)
        guard server == SASL_OK else {
            return .failure(CyrusSASLError(code: server, operation: "sasl_server_init"))
        }
        let client = sasl_client_init(nil)
        guard client == SASL_OK else {
            return .failure(CyrusSASLError(code: client, operation: "sasl_client_init"))
        }
        return .success(())
    }()

    /// Initialises libsasl2 for this process (server and client side) if that has not happened yet.
    ///
    /// - Throws: ``CyrusSASLError`` when libsasl2 cannot start, for example when no plugin
    ///   directory exists. The same error is thrown on every later call.
    public static func initialize() throws(CyrusSASLError) {
        try initialization.get()
    }

    /// The version of the loaded libsasl2, for example `2.1.28`.
    public static var version: String {
        var implementation: UnsafePointer<CChar>?
        var versionString: UnsafePointer<CChar>?
        var major: Int32 = 0, minor: Int32 = 0, step: Int32 = 0, patch: Int32 = 0
        sasl_version_info(&implementation, &versionString, &major, &minor, &step, &patch)
        return "\(major).\(minor).\(step)"
    }

    /// The names of the mechanisms whose plugins libsasl2 loaded (for example `PLAIN`, `LOGIN`,
    /// `CRAM-MD5`, `DIGEST-MD5`, `SCRAM-SHA-256`), sorted, without duplicates.
    ///
    /// Which ones exist depends on the installed plugin packages (`libsasl2-modules`,
    /// `libsasl2-modules-db`); which of them a server then offers depends on its configuration.
    public static func availableMechanisms() throws(CyrusSASLError) -> [String] {
        try initialize()
        guard let list = sasl_global_listmech() else { return [] }
        var names = Set<String>()
        var cursor = list
        while let name = cursor.pointee {
            names.insert(String(cString: name))
            cursor += 1
        }
        return names.sorted()
    }
}
