#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

private typealias GroupEntry = group

/// A user or group of the system's account database (`getpwnam_r(3)`, `getgrnam_r(3)`), as
/// `[daemon] user` and `group` name them.
struct SystemAccount: Hashable, Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t

    struct Problem: Error, Hashable {
        let message: String
    }

    /// The user `name`: its uid and primary group.
    static func user(named name: String) -> Result<SystemAccount, Problem> {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0 else {
            return .failure(Problem(message: "cannot look up user \(name): \(String(cString: strerror(status)))"))
        }
        guard result != nil else { return .failure(Problem(message: "there is no user \(name) on this system (useradd --system \(name))")) }
        return .success(SystemAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid))
    }

    /// The group `name` (its gid in both ``uid``, unused, and ``gid``).
    static func group(named name: String) -> Result<SystemAccount, Problem> {
        var entry = GroupEntry()
        var result: UnsafeMutablePointer<GroupEntry>?
        var buffer = [CChar](repeating: 0, count: 64 << 10)
        let status = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0 else {
            return .failure(Problem(message: "cannot look up group \(name): \(String(cString: strerror(status)))"))
        }
        guard result != nil else { return .failure(Problem(message: "there is no group \(name) on this system (groupadd --system \(name))")) }
        return .success(SystemAccount(name: name, uid: uid_t.max, gid: entry.gr_gid))
    }

    /// The name of the user with `uid`, or the number.
    static func userName(_ uid: uid_t) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return "uid \(uid)" }
        return String(cString: name)
    }
}
