internal import CSASL
import Synchronization
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
/// ## Nothing from /etc/sasl2
///
/// libsasl2 would read `<applicationName>.conf` (from `/etc/sasl2`, or `SASL_CONF_PATH`) and fall
/// back to its values, and to `/etc/sasldb2`, for every option an application does not answer. The
/// bridge reports configuration files as absent to libsasl2, and its GETOPT callbacks answer every
/// option libsasl2 or a plugin asks for: from ``CyrusSASLServer/Configuration`` on a connection
/// (see its documented defaults), and "not set" — the plugin's built-in default — before any
/// connection exists. An existing `Sendmail.conf` is used only by loading it explicitly with
/// ``CyrusSASLServer/Configuration/load(applicationFile:)``.
///
/// ## Threads, and libldap
///
/// libsasl2's own mutexes do nothing; the bridge installs pthread mutexes before initialising it,
/// so the bridge's threads may run exchanges at once. libldap (OpenLDAP, used by MailMapsLDAP)
/// initialises libsasl2 too — `sasl_set_mutex`, then `sasl_client_init` — the first time any of its
/// functions runs, under a lock of its own. When libldap is loaded in the process, ``initialize()``
/// has it do that first, so the two initialisations never overlap, whichever starts first; and the
/// mutexes either installs work with the other's.
public enum CyrusSASL {
    /// The application name libsasl2 uses to find its configuration (`/etc/sasl2/<name>.conf`,
    /// `/usr/lib/sasl2/<name>.conf`), as Sendmail uses `Sendmail`. The bridge never lets it read
    /// that file (see above); the name still appears in libsasl2's own logic.
    public static let applicationName = "swiftmta"

    /// How many times this process called `sasl_server_init` (one, once initialised).
    package static var libraryInitializationCount: Int { libraryInitializations.load(ordering: .relaxed) }
    /// How many times libsasl2 asked for `plugin_list`, which it does once per real
    /// initialisation (a repeated `sasl_server_init` only counts a reference).
    package static var pluginListQueryCount: Int { pluginListQueries.load(ordering: .relaxed) }

    private static let libraryInitializations = Atomic<Int>(0)
    static let pluginListQueries = Atomic<Int>(0)

    private static let initialization: Result<Void, CyrusSASLError> = {
        // libldap's own initialisation of libsasl2 first, when libldap is here (see above).
        _ = swiftmta_sasl_initialize_libldap_first()
        swiftmta_sasl_use_pthread_mutexes()
        libraryInitializations.add(1, ordering: .relaxed)
        let server = sasl_server_init(CyrusSASLGlobalCallbacks.shared.list, applicationName)
        guard server == SASL_OK else {
            return .failure(CyrusSASLError(code: server, operation: "sasl_server_init"))
        }
        let client = sasl_client_init(CyrusSASLGlobalCallbacks.shared.list)
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
