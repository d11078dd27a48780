import MailMaps
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file permissions `swiftmta serve` and `check-config` insist on before anything starts,
/// each problem an error naming the key, the path, its mode and the command that fixes it:
///
/// - a TLS private key (`tls.key`, `tls.client_key`) readable or writable by every user, or
///   writable by its group, is refused — whoever reads it can impersonate the server;
/// - the AUTH password file (`auth.backend = "passwd:…"`) and the smart-host credentials
///   (`maps.authinfo` as a file) readable or writable by every user are refused when they hold
///   an entry (an empty file gives nothing away);
/// - the spool (`queue.directory`) writable by every user is refused, and one owned by another
///   account than the one the server runs as after start (`[daemon] user`) too: its files would
///   be written by the server and nobody else.
///
/// The maps' files must be readable by that account: they are opened again after the switch, at
/// lookups. Other files the server will read again after it switched users (keys and
/// certificates, on SIGHUP) but cannot read as that user are reported as warnings: the reload
/// would fail, naming them.
struct PermissionCheck {
    let configuration: SwiftMTAConfiguration
    /// The account the server runs as once started; `nil`: the one it was started as.
    let runAs: ProcessIdentity?

    struct Findings {
        var errors: [ConfigurationError] = []
        var warnings: [String] = []
    }

    func run() -> Findings {
        var findings = Findings()
        for (key, path) in [("tls.key", configuration.tls.key), ("tls.client_key", configuration.tls.clientKey)] {
            guard let path, let status = Self.status(path) else { continue }
            let mode = status.st_mode & 0o777
            if mode & 0o006 != 0 || mode & 0o020 != 0 {
                findings.errors.append(configuration.error(key, "the private key \(path) is \(Self.describe(mode)) (mode \(Self.octal(mode))): chmod 0600 \(path), or 0640 with the server's group"))
            }
            readableAfterStart(path, status, key: key, into: &findings)
        }
        if let backend = configuration.authentication.backend, backend.hasPrefix("passwd:") {
            let path = String(backend.dropFirst("passwd:".count))
            secret(path, key: "auth.backend", what: "the password file", into: &findings)
        }
        if let spec = configuration.tables.authinfo, let path = Self.filePath(of: spec) {
            secret(path, key: "maps.authinfo", what: "the authinfo map (smart-host passwords)", into: &findings, map: true)
        }
        maps(into: &findings)
        spool(into: &findings)
        return findings
    }

    private func secret(_ path: String, key: String, what: String, into findings: inout Findings, map: Bool = false) {
        guard let status = Self.status(path) else { return }
        let mode = status.st_mode & 0o777
        if mode & 0o006 != 0, Self.holdsEntries(path) {
            findings.errors.append(configuration.error(key, "\(what) \(path) is \(Self.describe(mode)) (mode \(Self.octal(mode))): chmod 0600 \(path), or 0640 with the server's group"))
        }
        // A map's file is checked with the other maps (an error, not a warning).
        if !map { readableAfterStart(path, status, key: key, into: &findings) }
    }

    /// The file maps are opened again after the switch (a Berkeley DB map takes its lock and
    /// notices a rebuilt file at lookups, a text map is read again when it changes): one the
    /// server cannot read as `[daemon] user` would fail every lookup, so it is refused at start.
    private func maps(into findings: inout Findings) {
        guard let runAs, runAs.uid != 0 else { return }
        let tables = configuration.tables
        let specs: [(String, String?)] = [
            ("local_host_names", tables.localHostNames), ("relay_domains", tables.relayDomains),
            ("maps.virtusertable", tables.virtusertable), ("maps.access", tables.access), ("maps.mailertable", tables.mailertable),
            ("maps.authinfo", tables.authinfo), ("maps.aliases", tables.aliases), ("maps.tls_policy", configuration.delivery.tlsPolicy),
        ]
        for (key, spec) in specs {
            guard let spec, let path = Self.filePath(of: spec), let status = Self.status(path) else { continue }
            if let blocked = Self.unsearchableAncestor(of: path, for: runAs) {
                findings.errors.append(configuration.error(key, "\(path) cannot be reached by \(runAs.name), which the server runs as after start (every lookup would fail): \(blocked.path) (mode \(Self.octal(blocked.mode))) does not let it in: chmod o+x \(blocked.path)"))
                continue
            }
            let mode = status.st_mode
            let readable = (status.st_uid == runAs.uid && mode & 0o400 != 0) || (status.st_gid == runAs.gid && mode & 0o040 != 0) || mode & 0o004 != 0
            if !readable {
                findings.errors.append(configuration.error(key, "\(path) cannot be read by \(runAs.name), which the server runs as after start (every lookup would fail; mode \(Self.octal(mode & 0o777)), owner \(SystemAccount.userName(status.st_uid))): chgrp \(runAs.groupName) \(path) && chmod g+r \(path)"))
            }
        }
    }

    private func readableAfterStart(_ path: String, _ status: stat, key: String, into findings: inout Findings) {
        guard let runAs, runAs.uid != 0 else { return }
        let mode = status.st_mode
        let readable = (status.st_uid == runAs.uid && mode & 0o400 != 0) || (status.st_gid == runAs.gid && mode & 0o040 != 0) || mode & 0o004 != 0
        if !readable {
            findings.warnings.append("\(key): \(path) cannot be read by \(runAs.name), which the server runs as after start: a reload (SIGHUP) will fail to read it until chgrp \(runAs.groupName) \(path) and chmod g+r \(path)")
        }
    }

    private func spool(into findings: inout Findings) {
        let path = configuration.queue.directory
        if let runAs, runAs.uid != 0, let blocked = Self.unsearchableAncestor(of: path, for: runAs) {
            findings.errors.append(configuration.error("queue.directory", "the server runs as \(runAs.name) after start and cannot reach the spool \(path): \(blocked.path) (mode \(Self.octal(blocked.mode)), owner \(SystemAccount.userName(blocked.owner))) does not let it in: chmod o+x \(blocked.path), or put the spool elsewhere"))
            return
        }
        guard let status = Self.status(path) else { return }
        let mode = status.st_mode & 0o7777
        if mode & 0o002 != 0, mode & 0o1000 == 0 {
            findings.errors.append(configuration.error("queue.directory", "the spool \(path) is writable by every user (mode \(Self.octal(mode & 0o777))): chmod 0700 \(path)"))
        }
        if let runAs, status.st_uid != runAs.uid {
            findings.errors.append(configuration.error("queue.directory", "the spool \(path) belongs to \(SystemAccount.userName(status.st_uid)), but the server runs as \(runAs.name) after start: chown -R \(runAs.name):\(runAs.groupName) \(path)"))
        }
    }

    // MARK: - Files

    /// The first folder above `path` (existing ones only) that `account` may not search.
    private static func unsearchableAncestor(of path: String, for account: ProcessIdentity) -> (path: String, mode: mode_t, owner: uid_t)? {
        var current = ""
        for component in path.split(separator: "/").dropLast() {
            current += "/" + component
            guard let status = status(current) else { return nil }
            let mode = status.st_mode
            let searchable = status.st_uid == account.uid ? mode & 0o100 != 0
                : status.st_gid == account.gid ? mode & 0o010 != 0 : mode & 0o001 != 0
            if !searchable { return (current, mode & 0o777, status.st_uid) }
        }
        return nil
    }

    private static func status(_ path: String) -> stat? {
        var status = stat()
        return stat(path, &status) == 0 ? status : nil
    }

    /// Whether a file holds anything but blank and comment lines (the first 64 KiB are enough
    /// to tell); a Berkeley DB file always counts.
    private static func holdsEntries(_ path: String) -> Bool {
        if path.hasSuffix(".db") { return true }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 64 << 10)
        let count = read(descriptor, &bytes, bytes.count)
        guard count > 0 else { return count < 0 }
        return String(decoding: bytes[..<count], as: UTF8.self).split(separator: "\n").contains { line in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
    }

    /// The file a file map's spec reads (`hash:` and `btree:` maps add `.db`); `nil` for other maps.
    static func filePath(of text: String) -> String? {
        guard let spec = try? MailMapSpec(text) else { return nil }
        let registry = MailMapRegistry()
        switch spec.type {
        case "text", "list", "aliases":
            return try? registry.fileOperand(of: spec).path
        case "hash", "btree":
            guard let path = try? registry.fileOperand(of: spec, moreFlags: ["N", "O"]).path else { return nil }
            return path.hasSuffix(".db") ? path : path + ".db"
        default:
            return nil
        }
    }

    private static func describe(_ mode: mode_t) -> String {
        var who: [String] = []
        if mode & 0o004 != 0 { who.append("readable by every user") }
        if mode & 0o002 != 0 { who.append("writable by every user") }
        if mode & 0o020 != 0 { who.append("writable by its group") }
        return who.joined(separator: " and ")
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
