internal import COpenSSL

/// Reads and empties OpenSSL's per-thread error queue.
///
/// Every failing OpenSSL call leaves reasons on the queue; they are drained at the failure site so
/// that a later, unrelated call never reports them.
enum OpenSSLErrorQueue {
    /// The queued reasons, oldest first, as OpenSSL words them; the queue is empty afterwards.
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons
    }

    /// The queued reasons joined for a message, or `fallback` when OpenSSL gave none.
    static func drainedReason(fallback: String) -> String {
        let reasons = drain()
        return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
    }
}
