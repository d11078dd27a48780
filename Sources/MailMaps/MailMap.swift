/// A lookup table: Sendmail's and Postfix's maps (`access`, `virtusertable`, `mailertable`,
/// `authinfo`, `aliases`, …) whatever they are stored in.
///
/// A lookup has exactly three outcomes, as in Postfix's `dict` interface:
/// - a value (`"RELAY"`),
/// - not found (`nil`),
/// - an error (a thrown ``MailMapError``): the table could not be read. A broken table is never
///   read as "not found"; callers that search several keys stop at the first error.
///
/// Keys are folded to lower case before the lookup, as Sendmail and Postfix fold them, unless the
/// map was opened with case folding off (Sendmail's `-f`).
///
/// Implementations that wait on files, Berkeley DB, LDAP or DNS never block the caller's thread:
/// they run that work on a `WorkerPool` (MailSystem), so that neither a SwiftNIO event loop nor
/// Swift's cooperative pool stalls. A pool that is full or late fails the lookup at once with kind
/// `unavailable` — a temporary failure — rather than making the caller wait.
public protocol MailMap: Sendable {
    /// The `type:name` spec the map was opened from, for messages and traces
    /// (`hash:/etc/mail/access`).
    var spec: String { get }

    /// The value stored for `key`, `nil` when there is none.
    ///
    /// - Throws: ``MailMapError`` when the table cannot be read.
    func lookup(_ key: String) async throws(MailMapError) -> String?

    /// Looks `keys` up in order and stops at the first one found or at the first error, recording
    /// every key tried: the search a routing decision makes (a domain and its parents, an address
    /// and its networks), with the trace it reports.
    ///
    /// The default looks each key up with ``lookup(_:)``; maps whose lookups block override it to
    /// make the whole search in one trip to their worker pool.
    func search(_ keys: [String]) async -> MailMapSearch
}

extension MailMap {
    /// Looks each key up with ``lookup(_:)`` until one is found or one fails.
    public func search(_ keys: [String]) async -> MailMapSearch {
        var probes: [MailMapProbe] = []
        probes.reserveCapacity(keys.count)
        for key in keys {
            do {
                if let value = try await lookup(key) {
                    probes.append(MailMapProbe(map: spec, key: key, outcome: .found(value)))
                    break
                }
                probes.append(MailMapProbe(map: spec, key: key, outcome: .notFound))
            } catch {
                probes.append(MailMapProbe(map: spec, key: key, outcome: .failed(error)))
                break
            }
        }
        return MailMapSearch(probes: probes)
    }

}
