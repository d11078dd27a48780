public import MailMaps
public import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who exists as a local user: the system's accounts (`passwd`), or the keys of a map.
public enum LocalUserDirectory: Sendable {
    /// The system's users, through `getpwnam_r(3)`, run on the maps' thread pool.
    case passwd(WorkerPool)
    /// The keys of a map (`list:/etc/swiftmta/users`, `ldap:…`).
    case map(any MailMap)

    /// Whether `user` exists, with the lookup for the trace.
    ///
    /// - Throws: ``MailMapError`` when the map cannot be read.
    func contains(_ user: String) async throws(MailMapError) -> (Bool, RoutingStep) {
        switch self {
        case .passwd(let pool):
            let found = try await pool.run(forMap: "passwd") { () -> Bool in
                var entry = Glibc.passwd()
                var result: UnsafeMutablePointer<Glibc.passwd>?
                var buffer = [CChar](repeating: 0, count: 16384)
                return getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0 && result != nil
            }
            return (found, .lookup(MailMapProbe(map: "passwd", key: user, outcome: found ? .found("local user") : .notFound)))
        case .map(let map):
            let search = await map.search([user])
            guard let probe = search.probes.last else { return (false, .rule("no lookup")) }
            if let error = search.error { throw error }
            return (search.match != nil, .lookup(probe))
        }
    }
}
