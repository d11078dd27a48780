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
final class CyrusSASLOptions: @unchecked Sendable {
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

    /// The GETOPT callback: recovers the options object from `context`.
    static let getopt: swiftmta_sasl_getopt_fn = { context, _, option, result, length in
        guard let context, let option, let result else { return SASL_FAIL }
        let options = Unmanaged<CyrusSASLOptions>.fromOpaque(context).takeUnretainedValue()
        guard let value = options.value(for: String(cString: option)) else { return SASL_FAIL }
        result.pointee = UnsafePointer(value)
        length?.pointee = UInt32(strlen(value))
        return SASL_OK
    }

    /// The LOG callback: libsasl2's messages are dropped rather than sent to syslog. (They name
    /// users and reasons; the bridge reports failures through ``SASLError`` instead.)
    static let log: swiftmta_sasl_log_fn = { _, _, _ in SASL_OK }
}
