#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The account `swiftmta serve` switches to once its listeners are bound and its keys read
/// (`[daemon] user` and `group`, Sendmail's RunAsUser), and the switch: supplementary groups
/// dropped, then real, effective and saved group and user ids set, then checked — including that
/// root cannot be taken back.
struct ProcessIdentity: Hashable, Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t
    let groupName: String

    struct Problem: Error, Hashable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// What the process is to become, given who it runs as now:
    /// - as root with `[daemon] user`: that user (and group);
    /// - as root without one: refused unless `allowRoot` (then `nil`: it stays root);
    /// - as another user: `nil` when that is the configured user already (or none is configured),
    ///   refused when it is another one (only root can switch).
    static func plan(_ settings: DaemonSettings, allowRoot: Bool) -> Result<ProcessIdentity?, Problem> {
        let euid = geteuid()
        guard let user = settings.user else {
            if euid == 0, !allowRoot {
                return .failure(Problem(message: "refusing to run as root: set [daemon] user to the account to run as once the listeners are bound and the keys read (like Sendmail's RunAsUser), or give --allow-root to stay root"))
            }
            return .success(nil)
        }
        let account: SystemAccount
        switch SystemAccount.user(named: user) {
        case .success(let found): account = found
        case .failure(let problem): return .failure(Problem(message: "[daemon] user: \(problem.message)"))
        }
        var gid = account.gid
        var groupName = settings.group ?? "\(account.gid)"
        if let group = settings.group {
            switch SystemAccount.group(named: group) {
            case .success(let found): gid = found.gid
            case .failure(let problem): return .failure(Problem(message: "[daemon] group: \(problem.message)"))
            }
        } else {
            groupName = lookupGroupName(gid) ?? groupName
        }
        if euid != 0 {
            guard account.uid == euid else {
                return .failure(Problem(message: "[daemon] user = \"\(user)\": switching to it needs root, and this process runs as \(SystemAccount.userName(euid)); start it as root, or as \(user)"))
            }
            guard gid == getegid() else {
                return .failure(Problem(message: "[daemon] group: switching to group \(groupName) needs root; start as root, or with that group"))
            }
            return .success(nil)
        }
        if account.uid == 0, !allowRoot {
            return .failure(Problem(message: "[daemon] user = \"\(user)\" is root: name an unprivileged account, or give --allow-root"))
        }
        return .success(ProcessIdentity(name: user, uid: account.uid, gid: gid, groupName: groupName))
    }

    /// Becomes this account for good: every thread of the process (glibc applies set*id to all
    /// of them).
    func assume() -> Result<Void, Problem> {
        var groups = [gid]
        guard setgroups(1, &groups) == 0 else { return .failure(failure("setgroups")) }
        // As root, setgid(2) and setuid(2) set the real, effective and saved ids alike.
        guard setgid(gid) == 0 else { return .failure(failure("setgid(\(gid))")) }
        guard setuid(uid) == 0 else { return .failure(failure("setuid(\(uid))")) }
        guard getuid() == uid, geteuid() == uid, getgid() == gid, getegid() == gid else {
            return .failure(Problem(message: "after switching to \(name), the process runs as uid \(geteuid()) gid \(getegid())"))
        }
        if uid != 0, setuid(0) == 0 {
            return .failure(Problem(message: "after switching to \(name), the process could become root again"))
        }
        return .success(())
    }

    private func failure(_ call: String) -> Problem {
        Problem(message: "cannot switch to user \(name), group \(groupName): \(call): \(String(cString: strerror(errno)))")
    }

    fileprivate static func lookupGroupName(_ gid: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 64 << 10)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return nil }
        return String(cString: name)
    }
}

extension ProcessIdentity {
    /// The account `[daemon] user` and `group` name, whoever runs this (for check-config);
    /// `nil` without a user or when it does not exist (the configuration reports that).
    static func configured(_ settings: DaemonSettings) -> ProcessIdentity? {
        guard let user = settings.user, case .success(let account) = SystemAccount.user(named: user) else { return nil }
        var gid = account.gid
        if let group = settings.group, case .success(let found) = SystemAccount.group(named: group) { gid = found.gid }
        return ProcessIdentity(name: user, uid: account.uid, gid: gid, groupName: settings.group ?? lookupGroupName(gid) ?? "\(gid)")
    }
}
