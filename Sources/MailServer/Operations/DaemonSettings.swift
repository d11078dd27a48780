import TOMLKit

/// `[daemon]`: how `swiftmta serve` runs as a process — the account it runs as once its listeners
/// are bound and its keys read (Sendmail's `RunAsUser`, `confRUN_AS_USER`), and the address of
/// its Prometheus metrics endpoint.
///
/// ```toml
/// [daemon]
/// user = "swiftmta"                    # confRUN_AS_USER: after binding 25, 465 and 587
/// group = "swiftmta"                   # default: the user's primary group
/// metrics_address = "127.0.0.1:9465"   # GET /metrics (loopback only)
/// ```
public struct DaemonSettings: Hashable, Sendable {
    /// The account to switch to after start (`user`), by name; `nil`: stay as started.
    public var user: String?
    /// The group to switch to (`group`); `nil`: the user's primary group.
    public var group: String?
    /// Where the metrics endpoint listens (`metrics_address`): a loopback address and a port;
    /// `nil`: no endpoint.
    public var metricsAddress: (host: String, port: Int)? {
        get { metrics.map { ($0.host, $0.port) } }
        set { metrics = newValue.map { Endpoint(host: $0.host, port: $0.port) } }
    }

    private struct Endpoint: Hashable, Sendable {
        var host: String
        var port: Int
    }

    private var metrics: Endpoint?

    /// No user switch and no metrics endpoint.
    public init() {}

    /// Reads `[daemon]` (absent: the defaults), reporting each problem to `reader` with its key
    /// and line. Users and groups are looked up in the system's account database here, so that
    /// check-config names one that does not exist.
    static func read(_ document: TOMLTable, _ reader: ConfigurationReader) -> DaemonSettings {
        var settings = DaemonSettings()
        guard let section = reader.table(document, "daemon", at: "") else { return settings }
        reader.checkKeys(section, at: "daemon", allowed: ConfigurationKeys.allowed("daemon"))
        if let user = reader.string(section, "user", at: "daemon") {
            if user.isEmpty {
                reader.report("daemon.user", "must name a user (like \"swiftmta\")")
            } else {
                switch SystemAccount.user(named: user) {
                case .success: settings.user = user
                case .failure(let problem): reader.report("daemon.user", problem.message)
                }
            }
        }
        if let group = reader.string(section, "group", at: "daemon") {
            if reader.string(section, "user", at: "daemon") == nil {
                reader.report("daemon.group", "needs daemon.user: the group is switched to together with the user")
            } else if group.isEmpty {
                reader.report("daemon.group", "must name a group (like \"swiftmta\")")
            } else {
                switch SystemAccount.group(named: group) {
                case .success: settings.group = group
                case .failure(let problem): reader.report("daemon.group", problem.message)
                }
            }
        }
        if let address = reader.string(section, "metrics_address", at: "daemon") {
            switch Self.loopbackEndpoint(address) {
            case .success(let endpoint): settings.metricsAddress = endpoint
            case .failure(let problem): reader.report("daemon.metrics_address", problem.message)
            }
        }
        return settings
    }

    struct Problem: Error {
        let message: String
    }

    /// `127.0.0.1:9465`, `[::1]:9465`, `localhost:9465`: a loopback address and a port (0: any).
    static func loopbackEndpoint(_ text: String) -> Result<(host: String, port: Int), Problem> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(Problem(message: "must be ADDRESS:PORT, like \"127.0.0.1:9465\", not \"\(text)\"")) }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            return .failure(Problem(message: "must be ADDRESS:PORT, like \"127.0.0.1:9465\", not \"\(text)\""))
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            return .failure(Problem(message: "the port must be a number from 0 to 65535, not \"\(portText)\""))
        }
        let name = host == "localhost" ? "127.0.0.1" : String(host)
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopback4 = octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
        guard isLoopback4 || name == "::1" else {
            return .failure(Problem(message: "\(host) is not a loopback address: the metrics endpoint has no authentication, so it listens on 127.0.0.1 or ::1 only (put an authenticating proxy in front to reach it from elsewhere)"))
        }
        return .success((name, port))
    }
}
