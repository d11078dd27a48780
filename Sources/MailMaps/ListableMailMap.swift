/// A map whose entries can be listed: files (text, Berkeley DB) and inline maps, not LDAP or DNS.
/// `swiftmta map dump` lists a map through this.
public protocol ListableMailMap: MailMap {
    /// Every entry, as the map stores it (keys case-folded when the map folds them), in the
    /// map's own order: file order for text, hash or key order for Berkeley DB.
    ///
    /// - Throws: ``MailMapError`` when the table cannot be read.
    func entries() async throws(MailMapError) -> [MailMapEntry]
}
