internal import CSASL
import Synchronization

/// The callbacks given to `sasl_server_init` and `sasl_client_init`, which libsasl2 keeps for the
/// life of the process: no configuration file is read (VERIFYFILE reports them absent), every option
/// asked before a connection exists is answered "not set" (GETOPT), and libsasl2's messages are
/// dropped (LOG) as on connections.
final class CyrusSASLGlobalCallbacks: @unchecked Sendable {
    static let shared = CyrusSASLGlobalCallbacks()

    /// Allocated once and never freed: libsasl2 holds on to it.
    let list: UnsafeMutablePointer<sasl_callback_t>

    private init() {
        let callbacks = [
            swiftmta_sasl_callback_getopt(Self.getopt, nil),
            swiftmta_sasl_callback_verifyfile(),
            swiftmta_sasl_callback_log(CyrusSASLOptions.log, nil),
            swiftmta_sasl_callback_end(),
        ]
        list = .allocate(capacity: callbacks.count)
        list.initialize(from: callbacks, count: callbacks.count)
    }

    /// Options asked without a connection (`plugin_list` at start-up, a plugin's own settings when
    /// it loads): "not set", so libsasl2 loads every installed plugin and each plugin takes its
    /// built-in default — never a value from a configuration file.
    static let getopt: swiftmta_sasl_getopt_fn = { _, _, option, result, length in
        guard let option, let result else { return SASL_BADPARAM }
        if strcmp(option, "plugin_list") == 0 {
            CyrusSASL.pluginListQueries.add(1, ordering: .relaxed)
        }
        result.pointee = nil
        length?.pointee = 0
        return SASL_OK
    }
}
