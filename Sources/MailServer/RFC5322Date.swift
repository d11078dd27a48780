#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The date-time of RFC 5322 §3.3 in the local time zone (`Mon, 1 Dec 2025 09:03:00 +0100`), as
/// `Received:` headers (RFC 5321 §4.4) and Sendmail's `$b` macro write it.
enum RFC5322Date {
    /// The current time.
    static func now() -> String {
        format(secondsSinceEpoch: time(nil))
    }

    static func format(secondsSinceEpoch seconds: time_t) -> String {
        var clock = seconds
        var parts = tm()
        guard localtime_r(&clock, &parts) != nil else { return "Thu, 1 Jan 1970 00:00:00 +0000" }
        var buffer = [CChar](repeating: 0, count: 64)
        // %e pads the day with a space; RFC 5322 allows one or two digits, so trim it.
        let count = strftime(&buffer, buffer.count, "%a, %e %b %Y %H:%M:%S %z", &parts)
        let text = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.replacingOccurrences(",  ", ", ")
    }
}
