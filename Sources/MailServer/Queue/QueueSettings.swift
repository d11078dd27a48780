import TOMLKit

/// The `[queue]` section of the configuration: where the spool is and how long messages wait.
///
/// ```toml
/// [queue]
/// directory = "/var/spool/swiftmta"   # QUEUE_DIR
/// min_queue_age = "5m"                # confMIN_QUEUE_AGE: the first retry after this
/// max_queue_age = "4h"                # confMAX_QUEUE_AGE: retries back off, doubling, up to this
/// queuewarn = "4h"                    # confTO_QUEUEWARN: a delay DSN after this (RFC 3464)
/// queuereturn = "5d"                  # confTO_QUEUERETURN: a bounce after this
/// ```
///
/// Durations are written as Sendmail writes them: a number and a unit — `s`, `m`, `h`, `d` or `w`
/// — repeated (`1h30m`); a bare number is seconds. A relative directory is taken from the
/// configuration file's own folder. Without a file (the embedded default) the spool is
/// ``embeddedDirectory``, `var/spool` under the working directory.
public struct QueueSettings: Hashable, Sendable {
    /// The spool directory (Sendmail's QUEUE_DIR).
    public var directory: String
    /// The delay before the first retry of a deferred recipient (confMIN_QUEUE_AGE).
    public var minQueueAge: Duration
    /// The longest delay between retries: the delay doubles from ``minQueueAge`` up to this
    /// (confMAX_QUEUE_AGE).
    public var maxQueueAge: Duration
    /// How long a message may wait before its sender gets a delay warning (Timeout.queuewarn,
    /// RFC 3464 `Action: delayed`).
    public var queueWarn: Duration
    /// How long a message may wait before it is returned to its sender (Timeout.queuereturn).
    public var queueReturn: Duration

    /// The spool of an installed server.
    public static let defaultDirectory = "/var/spool/swiftmta"
    /// The spool of the embedded default (no configuration file): `var/spool` under the working
    /// directory.
    public static let embeddedDirectory = "var/spool"

    /// Settings from their parts; the defaults are Sendmail's and the (4h warn, 5d return).
    public init(
        directory: String = QueueSettings.defaultDirectory, minQueueAge: Duration = .seconds(5 * 60),
        maxQueueAge: Duration = .seconds(4 * 3600), queueWarn: Duration = .seconds(4 * 3600),
        queueReturn: Duration = .seconds(5 * 86400)
    ) {
        self.directory = directory
        self.minQueueAge = minQueueAge
        self.maxQueueAge = maxQueueAge
        self.queueWarn = queueWarn
        self.queueReturn = queueReturn
    }

    /// The settings of the embedded default.
    public static var embeddedDefault: QueueSettings { QueueSettings(directory: embeddedDirectory) }

    /// The delay before attempt number `attempt + 1`, after `attempt` failed ones (at least one):
    /// ``minQueueAge`` doubled per earlier failure, at most ``maxQueueAge``.
    public func retryDelay(afterAttempts attempt: Int) -> Duration {
        var delay = minQueueAge
        var count = 1
        while count < attempt, delay < maxQueueAge {
            delay *= 2
            count += 1
        }
        return min(delay, maxQueueAge)
    }

    /// Reads `[queue]` from a parsed configuration document (absent: the defaults), reporting
    /// each problem to `reader`; a relative directory is resolved by `resolve` (against the
    /// configuration file's folder, or the working directory for the embedded default).
    static func read(_ document: TOMLTable, _ reader: ConfigurationReader, resolve: (String) -> String) -> QueueSettings {
        var settings = QueueSettings(directory: resolve(reader.file.hasPrefix("<") ? embeddedDirectory : defaultDirectory))
        guard let section = reader.table(document, "queue", at: "") else { return settings }
        reader.checkKeys(section, at: "queue", allowed: ConfigurationKeys.allowed("queue"))
        if let directory = reader.string(section, "directory", at: "queue") {
            if directory.isEmpty || directory.utf8.contains(0) {
                reader.report("queue.directory", "must be a path")
            } else {
                settings.directory = resolve(directory)
            }
        }
        func duration(_ key: String) -> Duration? {
            guard let text = reader.string(section, key, at: "queue") else { return nil }
            guard let value = parseDuration(text), value > .zero else {
                reader.report("queue.\(key)", "must be a duration such as \"30m\", \"4h\", \"5d\" or \"1h30m\", not \"\(text)\"")
                return nil
            }
            return value
        }
        settings.minQueueAge = duration("min_queue_age") ?? settings.minQueueAge
        settings.maxQueueAge = duration("max_queue_age") ?? settings.maxQueueAge
        settings.queueWarn = duration("queuewarn") ?? settings.queueWarn
        settings.queueReturn = duration("queuereturn") ?? settings.queueReturn
        if settings.minQueueAge > settings.maxQueueAge {
            reader.report("queue.max_queue_age", "must not be shorter than queue.min_queue_age")
        }
        return settings
    }

    /// `90`, `30s`, `5m`, `4h`, `5d`, `2w`, `1h30m` (Sendmail's time format); `nil` otherwise.
    static func parseDuration(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (product, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow, product <= Int64.max / 604_800 - 10 else { return nil }
                number = product + Int64(digit)
                continue
            }
            guard let value = number else { return nil }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            case "w": unit = 604_800
            default: return nil
            }
            let (sum, overflow) = total.addingReportingOverflow(value * unit)
            guard !overflow else { return nil }
            total = sum
            number = nil
        }
        if let number {
            let (sum, overflow) = total.addingReportingOverflow(number)
            guard !overflow else { return nil }
            total = sum
        }
        guard !text.isEmpty else { return nil }
        return .seconds(total)
    }
}
