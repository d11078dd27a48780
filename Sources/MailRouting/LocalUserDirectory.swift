public import MailMaps

/// Who exists as a local user: the keys of a map — the system's accounts (`passwd:`, a
/// ``PasswdMap``), a list (`list:/etc/swiftmta/users`), LDAP (`ldap:…`).
public struct LocalUserDirectory: Sendable {
    /// The map whose keys are the local users.
    public let map: any MailMap

    /// The users that are keys of `map`.
    public init(_ map: any MailMap) {
        self.map = map
    }

    /// The keys of a map: `.map(registry.open("passwd:"))`.
    public static func map(_ map: any MailMap) -> LocalUserDirectory {
        LocalUserDirectory(map)
    }

    /// Whether `user` exists, with the lookup for the trace.
    ///
    /// - Throws: ``MailMapError`` when the map cannot be read.
    func contains(_ user: String) async throws(MailMapError) -> (Bool, RoutingStep) {
        let search = await map.search([user])
        guard let probe = search.probes.last else { return (false, .rule("no lookup")) }
        if let error = search.error { throw error }
        return (search.match != nil, .lookup(probe))
    }
}
