/// Debian's `/etc/mail/sendmail.conf`: how Debian's scripts start Sendmail (as a daemon, from
/// inetd, or not at all), how often the queue runs, extra command-line flags. It sits beside the
/// .mc in the settings folder; each of its settings is reported with its line.
extension SendmailMCImporter {
    /// The `KEY="value";` lines of a sendmail.conf, with their line numbers.
    static func debianSettings(_ text: String) -> [(key: String, value: String, line: Int)] {
        var settings: [(String, String, Int)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.mcTrimmed
            guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].mcTrimmed
            var value = line[line.index(after: equals)...].mcTrimmed
            if value.hasSuffix(";") { value.removeLast() }
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            settings.append((key, value, index + 1))
        }
        return settings
    }

    /// Reads the settings folder's sendmail.conf when there is one. Returns whether Debian runs
    /// an SMTP daemon at all (DAEMON_MODE other than None).
    mutating func translateDebianConfiguration() -> Bool {
        guard let path = located("\(settingsDirectory)sendmail.conf"),
              case .success(let bytes) = Self.readBytes(path, limit: 1 << 20) else { return true }
        var values: [String: String] = [:]
        var daemon = true
        for (key, raw, line) in Self.debianSettings(String(decoding: bytes, as: UTF8.self)) {
            // ${DAEMON_MODE} and the like name earlier settings.
            var value = raw
            for (name, earlier) in values { value = value.replacingOccurrences("${\(name)}", earlier) }
            values[key] = value
            let here = MCLocation(file: path, line: line)
            let subject = "\(key)=\"\(raw)\""
            switch key {
            case "DAEMON_MODE":
                switch value.lowercased() {
                case "daemon":
                    report.add(.carriedOver, here, subject, "Sendmail runs as a daemon: the [[listen]] tables")
                case "inetd":
                    report.add(.differs, here, subject, "inetd starts Sendmail for each connection; swiftmta serve listens itself: stop the inetd entry for port 25 before it starts")
                default:
                    daemon = false
                    report.add(.notCarriedOver, here, subject,
                        "Debian runs no SMTP daemon: Sendmail listened nowhere. The listeners of the .mc are written commented out; uncomment those swiftmta serve should have")
                }
            case "QUEUE_MODE", "QUEUE_INTERVAL":
                report.add(.notCarriedOver, here, subject, "SwiftMTA's queue runner keeps its own schedule of retries (RFC 5321 §4.5.4.1), not a fixed interval")
            case "DAEMON_PARMS", "QUEUE_PARMS", "MISC_PARMS", "MSP_PARMS", "CRON_PARMS":
                if value.isEmpty {
                    report.add(.notNeeded, here, subject, "no extra flags")
                } else {
                    report.add(.notCarriedOver, here, subject, "extra sendmail command-line flags (\(value)): give what they set as configuration keys")
                }
            case "DAEMON_NETMODE", "DAEMON_NETIF":
                report.add(.notNeeded, here, subject, "how Debian's scripts follow a dial-up or DHCP interface")
            case "MSP_MODE", "MSP_INTERVAL", "MSP_MAILSTATS", "MSP_STATS":
                report.add(.notNeeded, here, subject, "Sendmail's submission program (submit.cf) and its client queue, not part of the server")
            default:
                report.add(.notNeeded, here, subject, "how Debian's scripts run and watch Sendmail")
            }
        }
        return daemon
    }
}
