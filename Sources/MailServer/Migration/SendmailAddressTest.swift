#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sendmail's address test mode, asked for comparison: `sendmail -bt -C sendmail.cf` fed one
/// `/parse ADDRESS` line per address, and the (mailer, host, user) triple it prints for each
/// (`mailer esmtp, host relayhost.somedom.com, user foo@somedom.com`).
///
/// Sendmail prints a `> ` prompt before reading each line, so the answer to the n-th line is
/// what follows the n-th prompt. A host name without a dot makes Sendmail wait 60 s for one: as
/// root, with `unshare` at hand, it runs in a UTS namespace of its own under the configured
/// host name. Address test mode delivers nothing.
struct SendmailAddressTest {
    /// One answer: the triple, or what Sendmail said instead.
    struct Answer: Hashable {
        var mailer: String
        var host: String
        var user: String

        var triple: String { [mailer, host.isEmpty ? "-" : host, user].joined(separator: " ") }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The sendmail program (a path, or a name looked up in PATH).
    var sendmail: String
    /// The sendmail.cf to test.
    var configurationFile: String
    /// The host name Sendmail should have (`$j`), for a system whose own name has no dot.
    var hostname: String?
    /// How long the whole run may take.
    var timeout: Duration = .seconds(300)

    /// The answers for `addresses`, in order (`nil` where Sendmail printed no triple).
    func answers(_ addresses: [String]) throws(Failure) -> [Answer?] {
        let script = addresses.map { "/parse \($0)\n" }.joined()
        var argv = [sendmail, "-bt", "-C", configurationFile]
        let systemName = ServerCommandLine.localHostname()
        if !systemName.contains("."), geteuid() == 0, let hostname, HostNameRule.problem(with: hostname) == nil,
           access("/usr/bin/unshare", X_OK) == 0 {
            argv = ["/usr/bin/unshare", "-u", "sh", "-c", "hostname \"$0\" && exec \"$@\"", hostname] + argv
        }
        let run = ChildProcess.run(argv, input: Array(script.utf8), timeout: timeout)
        if let problem = run.problem { throw Failure(description: "\(sendmail) -bt: \(problem)") }
        if run.timedOut {
            throw Failure(description: "\(sendmail) -bt did not finish within \(timeout) (a DNS lookup that waits? an unqualified host name?)")
        }
        let text = String(decoding: run.output, as: UTF8.self)
        // The banner, then one part per prompt.
        var parts = text.components(separatedByPrompt: "> ")
        if !parts.isEmpty { parts.removeFirst() }
        guard !parts.isEmpty || addresses.isEmpty else {
            let said = String(decoding: run.error, as: UTF8.self).mcTrimmed
            throw Failure(description: "\(sendmail) -bt -C \(configurationFile) answered nothing\(said.isEmpty ? "" : ": \(said)")")
        }
        return addresses.indices.map { index in
            guard index < parts.count else { return nil }
            return parts[index].split(separator: "\n").reversed().lazy.compactMap(Self.triple).first
        }
    }

    /// `mailer esmtp, host example.com, user foo@example.com` (the host is absent for local).
    static func triple(_ line: Substring) -> Answer? {
        guard line.hasPrefix("mailer ") else { return nil }
        let rest = line.dropFirst("mailer ".count)
        guard let comma = rest.firstIndex(of: ",") else { return nil }
        let mailer = String(rest[..<comma])
        var tail = rest[rest.index(after: comma)...].drop { $0 == " " }
        var host = ""
        if tail.hasPrefix("host ") {
            guard let range = tail.firstRange(of: ", user ") else { return nil }
            host = String(tail[tail.index(tail.startIndex, offsetBy: 5)..<range.lowerBound])
            tail = tail[range.lowerBound...].dropFirst(2)
        }
        guard tail.hasPrefix("user ") else { return nil }
        return Answer(mailer: mailer, host: host, user: String(tail.dropFirst(5)))
    }
}

extension String {
    /// The text cut at each `prompt` that starts a line (or the text).
    func components(separatedByPrompt prompt: String) -> [String] {
        var parts: [String] = []
        var current = ""
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(line)
            while rest.hasPrefix(prompt) {
                parts.append(current)
                current = ""
                rest = rest.dropFirst(prompt.count)
            }
            current += rest + "\n"
        }
        parts.append(current)
        return parts
    }
}
