extension ServerCommandLine {
    /// The version of SwiftMTA (`swiftmta --version`, the `swiftmta_build_info` metric).
    public static let version = "0.1.0"

    /// check-config's lines about `[daemon]`: the account after start and the metrics endpoint.
    static func daemonSummary(_ settings: DaemonSettings) -> [String] {
        var lines: [String] = []
        if let user = settings.user {
            lines.append("runs as user \(user)\(settings.group.map { ", group \($0)" } ?? "") once the listeners are bound")
        } else {
            lines.append("no [daemon] user: started as root, serve refuses to run unless given --allow-root")
        }
        if let (host, port) = settings.metricsAddress {
            lines.append("metrics on http://\(host.contains(":") ? "[\(host)]" : host):\(port)/metrics")
        }
        return lines
    }
}
