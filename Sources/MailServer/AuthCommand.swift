import MailAuth
import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `swiftmta auth add|list|remove`: the users of a password file (MailAuth's
/// ``SASLPasswordFile`` format) — what `saslpasswd2` is to Sendmail.
///
/// `add` stores a SCRAM-SHA-256 verifier (RFC 5802, RFC 7677), which answers PLAIN, LOGIN and
/// SCRAM-SHA-256 without keeping the password; `--store-plaintext` adds the password itself,
/// which CRAM-MD5 and DIGEST-MD5 need. The file is rewritten atomically, mode 0600.
public enum AuthCommand {
    /// The password file to use: `--file`, else the `passwd:` backend of `--config`, else the
    /// embedded default's `./var/auth/passwd`.
    public static func passwordFile(file: String?, configurationFile: String?) -> Result<String, CommandError> {
        if let file { return .success(file) }
        let configuration: SwiftMTAConfiguration
        do {
            configuration = try configurationFile.map { path throws(ConfigurationError) in try SwiftMTAConfiguration.load(path: path) }
                ?? SwiftMTAConfiguration.embeddedDefault()
        } catch {
            return .failure(CommandError("\(error)"))
        }
        guard let backend = configuration.authentication.backend, backend.hasPrefix("passwd:") else {
            return .failure(CommandError("\(configuration.file): auth.backend is not a password file (passwd:PATH); give --file"))
        }
        return .success(String(backend.dropFirst("passwd:".count)))
    }

    /// Adds `user` (or replaces its credentials) with `password`; returns what to print.
    public static func add(user: String, password: String, file: String, storePlaintext: Bool) -> Result<String, CommandError> {
        guard !password.isEmpty else { return .failure(CommandError("the password is empty")) }
        if storePlaintext, password.contains("\n") || password.contains("\r") {
            return .failure(CommandError("a password with a line break cannot be stored in plaintext"))
        }
        var entry: String
        do {
            entry = try SASLPasswordFile.entry(user: user, password: SASLSecret(password))
        } catch {
            return .failure(CommandError(error.message))
        }
        if storePlaintext { entry += " {PLAIN}" + password }
        let existing: [String]
        switch readLines(file, missingIsEmpty: true) {
        case .success(let lines): existing = lines
        case .failure(let error): return .failure(error)
        }
        var replaced = false
        var lines: [String] = []
        for line in existing {
            if userName(of: line) == user {
                if !replaced { lines.append(entry) }
                replaced = true
            } else {
                lines.append(line)
            }
        }
        if !replaced { lines.append(entry) }
        switch write(lines, to: file) {
        case .success: break
        case .failure(let error): return .failure(error)
        }
        return .success("\(replaced ? "updated" : "added") \(user) in \(file) (SCRAM-SHA-256\(storePlaintext ? " and the password in plaintext" : ""))")
    }

    /// The users and the kinds of credential each has, never a credential.
    public static func list(file: String) -> Result<String, CommandError> {
        let lines: [String]
        switch readLines(file, missingIsEmpty: false) {
        case .success(let read): lines = read
        case .failure(let error): return .failure(error)
        }
        do {
            _ = try SASLPasswordFile(contents: lines.joined(separator: "\n"), path: file)
        } catch {
            return .failure(CommandError(error.message))
        }
        var output: [String] = []
        for line in lines {
            guard let user = userName(of: line) else { continue }
            let rest = line[line.index(after: line.firstIndex(of: ":")!)...]
            var kinds: [String] = []
            for word in rest.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if word.hasPrefix("{PLAIN}") {
                    kinds.append("plaintext password")
                    break
                }
                if word.hasPrefix("SCRAM-") { kinds.append(String(word.prefix { $0 != "$" })) }
                if word.hasPrefix("$") { kinds.append(String(word.dropFirst().prefix { $0 != "$" })) }
            }
            output.append("\(user)\t\(kinds.joined(separator: ", "))")
        }
        return .success(output.isEmpty ? "no users in \(file)" : output.joined(separator: "\n"))
    }

    /// Removes `user`.
    public static func remove(user: String, file: String) -> Result<String, CommandError> {
        let existing: [String]
        switch readLines(file, missingIsEmpty: false) {
        case .success(let lines): existing = lines
        case .failure(let error): return .failure(error)
        }
        let kept = existing.filter { userName(of: $0) != user }
        guard kept.count < existing.count else { return .failure(CommandError("no user \(user) in \(file)")) }
        switch write(kept, to: file) {
        case .success: return .success("removed \(user) from \(file)")
        case .failure(let error): return .failure(error)
        }
    }

    /// Reads a password from standard input: with a terminal, twice and without echo; otherwise
    /// the first line.
    public static func readPassword(prompt: String) -> Result<String, CommandError> {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true) else { return .failure(CommandError("no password on standard input")) }
            return .success(line)
        }
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        defer { tcsetattr(STDIN_FILENO, TCSANOW, &original) }
        func ask(_ text: String) -> String? {
            var prompt = text
            prompt.withUTF8 { bytes in _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
            let line = readLine(strippingNewline: true)
            _ = Glibc.write(STDERR_FILENO, "\n", 1)
            return line
        }
        guard let first = ask(prompt), let second = ask("again: ") else { return .failure(CommandError("no password given")) }
        guard first == second else { return .failure(CommandError("the two passwords differ")) }
        return .success(first)
    }

    /// A command's failure, one line for standard error.
    public struct CommandError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: - The file

    private static func userName(of line: String) -> String? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let colon = trimmed.firstIndex(of: ":") else { return nil }
        return String(trimmed[..<colon]).trimmingCharactersAndSpaces
    }

    private static func readLines(_ path: String, missingIsEmpty: Bool) -> Result<[String], CommandError> {
        if missingIsEmpty, !FileSupport.exists(path) { return .success([]) }
        do {
            let text = try BoundedFile.readText(path, limit: SASLPasswordFile.maximumFileSize)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            return .success(lines)
        } catch {
            return .failure(CommandError("\(error)"))
        }
    }

    private static func write(_ lines: [String], to path: String) -> Result<Void, CommandError> {
        do {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex, !FileSupport.exists(String(path[..<slash])) {
                try FileSupport.makeDirectories(String(path[..<slash]), mode: 0o700)
            }
            try FileSupport.writeAtomically(lines.map { $0 + "\n" }.joined(), to: path, mode: 0o600)
            return .success(())
        } catch {
            return .failure(CommandError("\(error)"))
        }
    }
}

extension String {
    fileprivate var trimmingCharactersAndSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
