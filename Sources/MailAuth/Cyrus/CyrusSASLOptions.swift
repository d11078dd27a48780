internal import CSASL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The answers a connection's GETOPT callback gives libsasl2 (`sasldb_path`, `pwcheck_method`,
/// `mech_list`, …), as C strings that live as long as this object. Immutable after set-up; shared
/// by the connections of one server and only read by libsasl2's callbacks.
///
/// Every option is answered: a name without a value is "not set" (the plugin's built-in default),
/// never a fall-through to libsasl2's configuration file. Values may be secrets (`sql_passwd`): a
/// mirror or dump shows the option names only.
final class CyrusSASLOptions: @unchecked Sendable, CustomReflectable {
    private let values: [String: UnsafeMutablePointer<CChar>]

    init(_ options: [String: String]) {
        var values: [String: UnsafeMutablePointer<CChar>] = [:]
        for (name, value) in options { values[name] = strdup(value) }
        self.values = values
    }

    deinit {
        for value in values.values { free(value) }
    }

    func value(for name: String) -> UnsafeMutablePointer<CChar>? {
        values[name]
    }

    /// The option names, never their values.
    var customMirror: Mirror {
        Mirror(self, children: ["options": values.keys.sorted()])
    }

    /// The GETOPT callback: recovers the options object from `context` and answers every option.
    /// Returning anything but `SASL_OK` would make libsasl2 look the option up in its global
    /// callbacks and then in `/etc/sasl2/<app>.conf`; an option without a value is answered as
    /// not set (`NULL`), which every caller in libsasl2 and its plugins reads as "use the default".
    static let getopt: swiftmta_sasl_getopt_fn = { context, _, option, result, length in
        guard let context, let option, let result else { return SASL_BADPARAM }
        let options = Unmanaged<CyrusSASLOptions>.fromOpaque(context).takeUnretainedValue()
        if let value = options.value(for: String(cString: option)) {
            result.pointee = UnsafePointer(value)
            length?.pointee = UInt32(strlen(value))
        } else {
            result.pointee = nil
            length?.pointee = 0
        }
        return SASL_OK
    }

    /// The LOG callback: libsasl2's messages are dropped rather than sent to syslog. (They name
    /// users and reasons; the bridge reports failures through ``SASLError`` instead.)
    static let log: swiftmta_sasl_log_fn = { _, _, _ in SASL_OK }
}
