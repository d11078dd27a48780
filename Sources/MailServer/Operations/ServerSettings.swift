import Synchronization

/// What an ``SMTPServer`` gives each new connection — its configuration, its backend and the AUTH
/// damping state — replaced as a whole by a reload, so that a session sees one configuration from
/// its greeting to its end and the next connection the new one.
final class ServerSettings: Sendable {
    struct Settings: Sendable {
        var configuration: ServerConfiguration
        var backend: any SMTPBackend
        var damping: AuthenticationDamping?
    }

    private let state: Mutex<Settings>

    init(configuration: ServerConfiguration, backend: any SMTPBackend, damping: AuthenticationDamping?) {
        state = Mutex(Settings(configuration: configuration, backend: backend, damping: damping))
    }

    var settings: Settings { state.withLock { $0 } }

    /// Replaces the settings; the damping state (failures per client) is kept while its schedule
    /// is unchanged.
    func replace(configuration: ServerConfiguration, backend: any SMTPBackend) {
        state.withLock { settings in
            let damping: AuthenticationDamping?
            if let authentication = configuration.authentication {
                if let kept = settings.damping, settings.configuration.authentication?.damping == authentication.damping {
                    damping = kept
                } else {
                    damping = AuthenticationDamping(configuration: authentication.damping)
                }
            } else {
                damping = nil
            }
            settings = Settings(configuration: configuration, backend: backend, damping: damping)
        }
    }
}
