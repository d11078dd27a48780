/// A lookup table: Sendmail's and Postfix's maps (`access`, `virtusertable`, `mailertable`,
/// `authinfo`, `aliases`, …) whatever they are stored in.
///
/// A lookup has exactly three outcomes, as in Postfix's `dict` interface:
/// - a value (`"RELAY"`),
/// - not found (`nil`),
/// - an error (a thrown ``MailMapError``): the table could not be read. A broken table is never
///   read as "not found"; callers that search several keys stop at the first error.
///
/// Implementations that wait on files, Berkeley DB, LDAP or DNS must not block the caller's
/// thread when it is an event loop; the `async` requirement lets them move that work elsewhere.
public protocol MailMap: Sendable {
    /// The `type:name` spec the map was opened from, for messages and traces
    /// (`hash:/etc/mail/access`).
    var spec: String { get }

    /// The value stored for `key`, `nil` when there is none.
    ///
    /// - Throws: ``MailMapError`` when the table cannot be read.
    func lookup(_ key: String) async throws(MailMapError) -> String?
}
