extension SMTPServer {
    /// Replaces the server's configuration and backend without dropping a connection: sessions
    /// open now finish with what they started with, and every connection accepted from now on
    /// gets `configuration` and `backend` (its certificate, AUTH, limits, texts and policy).
    ///
    /// The listening sockets stay as they are: they were bound at start, perhaps with privileges
    /// the process no longer has.
    ///
    /// - Throws: ``ServerReloadError`` when `configuration`'s listeners differ from the bound ones
    ///   (nothing is changed then), or when an smtps listener would have no certificate.
    public func reload(configuration: ServerConfiguration, backend: any SMTPBackend) throws(ServerReloadError) {
        let running = self.configuration.listeners
        if configuration.listeners != running {
            throw ServerReloadError(reason: "the listeners differ from those bound at start (\(Self.summary(running)) now, \(Self.summary(configuration.listeners)) asked): listeners change only with a restart")
        }
        if configuration.tls == nil, let smtps = configuration.listeners.first(where: { $0.mode == .smtps }) {
            throw ServerReloadError(reason: "the smtps listener \(Self.describe(smtps)) needs a TLS certificate")
        }
        current.replace(configuration: configuration, backend: backend)
    }

    private static func summary(_ listeners: [ServerConfiguration.Listener]) -> String {
        listeners.isEmpty ? "none" : listeners.map { "\(describe($0)) \($0.mode) (\($0.maximumConnections)/\($0.maximumConnectionsPerClient))" }.joined(separator: ", ")
    }
}
