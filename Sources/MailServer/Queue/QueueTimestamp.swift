#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant as the spool records it: milliseconds since 1970-01-01 UTC. Arrival
/// times, attempt times and retry times are kept in this form (RFC 3464 §2.3.4's
/// Last-Attempt-Date and §2.2.5's Arrival-Date are derived from it).
public struct QueueTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01 00:00 UTC.
    public var millisecondsSince1970: Int64

    /// The instant `millisecondsSince1970` after 1970-01-01 UTC.
    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// Now, by the system's wall clock.
    public static var now: QueueTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return QueueTimestamp(millisecondsSince1970: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec / 1_000_000))
    }

    /// This instant moved by `duration`.
    public func advanced(by duration: Duration) -> QueueTimestamp {
        let (seconds, attoseconds) = duration.components
        return QueueTimestamp(millisecondsSince1970: millisecondsSince1970 + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// The time from this instant to `other`.
    public func duration(to other: QueueTimestamp) -> Duration {
        .milliseconds(other.millisecondsSince1970 - millisecondsSince1970)
    }

    /// Whole seconds since 1970, as `time_t`.
    public var secondsSince1970: Int64 { millisecondsSince1970 / 1000 }

    /// Earlier first.
    public static func < (lhs: QueueTimestamp, rhs: QueueTimestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    /// `2026-11-20T09:14:04.123Z`.
    public var description: String {
        var seconds = time_t(millisecondsSince1970 / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(millisecondsSince1970 % 1000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
