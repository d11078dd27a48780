import MailSystem

/// A credential verifier over a text file of users, one per line:
///
/// ```
/// # user: credential [credential …]
/// alice: SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$…:…
/// bob:   $pbkdf2-sha512$i=210000$…$…
/// carol: SCRAM-SHA-256$4096:…  {PLAIN}the password itself
/// ```
///
/// A credential is a SCRAM verifier in RFC 5803 form (``SCRAMVerifier``), a PBKDF2 hash in PHC form
/// (``SASLPasswordHash``), or `{PLAIN}` followed by the password, which takes the rest of the line
/// and must come last. Blank lines and lines starting with `#` are skipped. A SCRAM-SHA-256
/// verifier alone answers PLAIN, LOGIN and SCRAM-SHA-256; CRAM-MD5 and DIGEST-MD5 need `{PLAIN}`.
/// Make the file readable by the server only.
///
/// The file is read once, when the value is made (a blocking read: do it at start-up or on a
/// thread that may block, never on an event loop); make a new value to reload it. Errors name the
/// file and line and never repeat a credential.
public struct SASLPasswordFile: SASLCredentialVerifier, CustomStringConvertible {
    /// The largest file read, 64 MiB: a bound, not an expectation.
    public static let maximumFileSize = 64 << 20

    /// The file's path.
    public let path: String
    private let users: [String: [SASLStoredCredential]]

    /// Reads and parses the file at `path`.
    ///
    /// - Throws: ``SASLError/Kind/configuration`` naming the file (and line) when it cannot be
    ///   read or a line is malformed.
    public init(path: String) throws(SASLError) {
        let text: String
        do {
            text = try BoundedFile.readText(path, limit: Self.maximumFileSize)
        } catch {
            throw SASLError(unreadable: error)
        }
        try self.init(contents: text, path: path)
    }

    /// Parses `contents` as if read from `path` (which only names it in errors).
    public init(contents: String, path: String = "<memory>") throws(SASLError) {
        self.path = path
        var users: [String: [SASLStoredCredential]] = [:]
        var lineNumber = 0
        for rawLine in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw SASLError(.configuration, "\(path):\(lineNumber): expected `user: credential …`")
            }
            let user = String(trimmed[..<colon]).trimmingWhitespace()
            guard !user.isEmpty else { throw SASLError(.configuration, "\(path):\(lineNumber): the user name is empty") }
            guard users[user] == nil else {
                throw SASLError(.configuration, "\(path):\(lineNumber): user \(user) appears a second time")
            }
            var credentials: [SASLStoredCredential] = []
            var rest = trimmed[trimmed.index(after: colon)...]
            while true {
                rest = rest.drop { $0 == " " || $0 == "\t" }
                if rest.isEmpty { break }
                if rest.hasPrefix("{PLAIN}") {
                    let password = rest.dropFirst("{PLAIN}".count)
                    guard !password.isEmpty else {
                        throw SASLError(.configuration, "\(path):\(lineNumber): the {PLAIN} password of \(user) is empty")
                    }
                    credentials.append(.password(SASLSecret(String(password))))
                    break
                }
                let end = rest.firstIndex { $0 == " " || $0 == "\t" } ?? rest.endIndex
                let item = String(rest[..<end])
                rest = rest[end...]
                do throws(SASLError) {
                    if item.hasPrefix("$") {
                        credentials.append(.passwordHash(try SASLPasswordHash(parsing: item)))
                    } else if item.hasPrefix("SCRAM-") {
                        credentials.append(.scram(try SCRAMVerifier(parsing: item)))
                    } else {
                        throw SASLError(
                            .configuration, "a credential of \(user) is neither SCRAM-…, $pbkdf2-… nor {PLAIN}")
                    }
                } catch {
                    throw SASLError(.configuration, "\(path):\(lineNumber): \(error.message)")
                }
            }
            guard !credentials.isEmpty else {
                throw SASLError(.configuration, "\(path):\(lineNumber): user \(user) has no credential")
            }
            users[user] = credentials
        }
        self.users = users
    }

    /// The number of users.
    public var count: Int { users.count }

    public var description: String { "password file \(path) (\(users.count) users)" }

    public func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
        users[authenticationIdentity]
    }

    /// The line to add to a password file for `user`: SCRAM verifiers (SHA-256 by default) derived
    /// from `password` with fresh salts. Runs PBKDF2 on the calling thread.
    public static func entry(
        user: String, password: SASLSecret, hashFunctions: [SCRAMHashFunction] = [.sha256], iterations: Int = 4_096
    ) throws(SASLError) -> String {
        guard !user.isEmpty, !user.contains(":"), !user.contains("\n"), !user.hasPrefix("#") else {
            throw SASLError(.configuration, "a user name must be non-empty, without `:` or a line break, and not start with #")
        }
        var items: [String] = []
        for function in hashFunctions {
            items.append(try SCRAMVerifier(password: password, hashFunction: function, iterations: iterations).encoded)
        }
        return "\(user): \(items.joined(separator: " "))"
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

