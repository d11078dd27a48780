public import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `passwd:` — the system's user accounts as a map (Sendmail's `user` map class): the key is a
/// login name, the value the account's name as the system spells it (getpwnam_r(3), POSIX.1-2017).
///
/// Who exists as a local user (`local_users = "passwd"`) is a lookup in this map. The lookup
/// blocks (it may read `/etc/passwd` or ask NSS modules such as LDAP or systemd), so it runs on
/// the registry's `WorkerPool` (``MailMapRegistry/threadPool``), never on the cooperative pool or
/// an event loop; a pool that is full or late fails the lookup at once with kind `unavailable`. A lookup
/// the system cannot answer (an NSS module that fails) is an error, never "no such user".
///
/// The spec takes no name and no flags: `passwd:`.
public struct PasswdMap: MailMap {
    /// `passwd:`.
    public let spec: String
    private let threadPool: WorkerPool

    /// The system's accounts, looked up on `threadPool`.
    public init(threadPool: WorkerPool) {
        self.spec = "passwd:"
        self.threadPool = threadPool
    }

    /// The account's name for the login name `key`, `nil` when there is no such account.
    ///
    /// - Throws: ``MailMapError`` of kind `lookupFailed` when the system cannot answer (getpwnam_r
    ///   returns an error other than "not found").
    public func lookup(_ key: String) async throws(MailMapError) -> String? {
        // A login name never holds NUL, "/" or ":" (and getpwnam_r would read a NUL as the end).
        guard !key.isEmpty, !key.utf8.contains(where: { $0 == 0 || $0 == 0x2F || $0 == 0x3A }) else { return nil }
        let spec = spec
        return try await threadPool.run(forMap: spec) { () throws(MailMapError) -> String? in
            var size = 4096
            while true {
                var entry = passwd()
                var result: UnsafeMutablePointer<passwd>?
                var buffer = [CChar](repeating: 0, count: size)
                let status = getpwnam_r(key, &entry, &buffer, buffer.count, &result)
                if status == ERANGE, size < 1 << 20 {
                    size *= 4
                    continue
                }
                // POSIX: "not found" is status 0 with no result; some systems also say ENOENT,
                // ESRCH, EBADF or EPERM for it.
                if status == 0 || [ENOENT, ESRCH, EBADF, EPERM].contains(status) {
                    guard result != nil, let name = entry.pw_name else { return nil }
                    return String(cString: name)
                }
                throw MailMapError(.lookupFailed, map: spec,
                    message: "\(spec): the system could not look up the user \"\(key)\": \(String(cString: strerror(status)))")
            }
        }
    }
}
