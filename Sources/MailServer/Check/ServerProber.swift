import NIOCore
import SMTPProtocol

/// The probes of ``ServerCheck``, run one after the other, each on connections of its own.
struct ServerProber {
    let request: ServerCheck.Request
    /// HOST as given.
    let host: String
    let address: SocketAddress
    let source: SocketAddress?

    /// What the first session learnt: the server's name, the EHLO name used, and the
    /// extensions offered before TLS.
    struct ServerFacts {
        var greeting: SMTPReply
        /// The first word of the greeting (RFC 5321 §4.3.1: the server's domain).
        var name: String
        var helo: String
        var extensions: [String: [String]]

        var offersSTARTTLS: Bool { extensions["STARTTLS"] != nil }
    }

    var timeout: Duration { request.timeout }
    var sender: String {
        guard let sender = request.sender, sender != "<>" else { return "<>" }
        return sender.hasPrefix("<") ? sender : "<\(sender)>"
    }

    func run() async throws -> ServerCheckReport {
        var results: [ProbeResult] = []
        let facts = try await basics(into: &results)
        results += await relay(facts)
        results += await smuggling(facts)
        results += await startTLSInjection(facts)
        results += await tls(facts)
        results += await limits(facts)
        return ServerCheckReport(
            target: ProbeConnection.describe(address), host: host, serverName: facts.name, source: request.sourceAddress, results: results)
    }

    // MARK: - Sessions

    /// A connection that has been greeted and has said EHLO (HELO when EHLO is refused).
    func session<Result: Sendable>(_ body: (inout ProbeConnection, SMTPReply) async throws -> Result) async throws -> Result {
        try await ProbeConnection.with(address, from: source, timeout: timeout) { connection in
            let greeting = try await connection.reply()
            guard greeting.code == 220 else { throw ProbeConnection.Failure.failed("greeting \(greeting)") }
            let helo = request.helo ?? Self.addressLiteral(connection.localAddress)
            var hello = try await connection.command("EHLO \(helo)")
            if hello.code != 250 { hello = try await connection.command("HELO \(helo)") }
            return try await body(&connection, hello)
        }
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
    static func addressLiteral(_ address: String?) -> String {
        guard let address else { return "[127.0.0.1]" }
        return address.contains(":") ? "[IPv6:\(address)]" : "[\(address)]"
    }

    /// The extensions of an EHLO reply: keyword → parameters (RFC 5321 §4.1.1.1).
    static func extensions(of reply: SMTPReply) -> [String: [String]] {
        guard reply.code == 250 else { return [:] }
        var result: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ").map(String.init)
            guard let keyword = words.first else { continue }
            result[keyword.uppercased()] = Array(words.dropFirst()).map { $0.uppercased() }
        }
        return result
    }

    /// The greeting, EHLO, and AUTH before TLS.
    private func basics(into results: inout [ProbeResult]) async throws -> ServerFacts {
        let (facts, auth) = try await ProbeConnection.with(address, from: source, timeout: timeout) { connection in
            let greeting = try await connection.reply()
            guard greeting.code == 220 else { throw ProbeConnection.Failure.failed("the server greets with \(greeting)") }
            let helo = request.helo ?? Self.addressLiteral(connection.localAddress)
            let hello = try await connection.command("EHLO \(helo)")
            let name = greeting.lines.first.map { String($0.split(separator: " ").first ?? "") } ?? ""
            let facts = ServerFacts(greeting: greeting, name: name, helo: helo, extensions: Self.extensions(of: hello))
            var auth: [ProbeResult] = []
            for mechanism in ["PLAIN", "LOGIN"] {
                auth.append(await plaintextAuthentication(mechanism, offered: facts.extensions["AUTH"] ?? [], on: &connection))
            }
            await connection.quit()
            return (facts, auth)
        }
        results.append(ProbeResult(category: "smtp", name: "greeting", status: .pass, evidence: "\(facts.greeting)"))
        results.append(ProbeResult(
            category: "smtp", name: "EHLO", status: facts.extensions.isEmpty ? .warn : .pass,
            evidence: facts.extensions.isEmpty ? "EHLO refused or no extensions: the server speaks only RFC 821 SMTP" : facts.extensions.keys.sorted().joined(separator: " ")))
        results += auth
        return facts
    }

    /// RFC 4954 §4: PLAIN and LOGIN send the password as it is; before TLS they must be neither
    /// offered nor accepted. An exchange the server starts is cancelled with `*` (§4): no
    /// credential is sent.
    private func plaintextAuthentication(_ mechanism: String, offered: [String], on connection: inout ProbeConnection) async -> ProbeResult {
        let name = "\(mechanism) before TLS"
        let isOffered = offered.contains(mechanism)
        do {
            let reply = try await connection.command("AUTH \(mechanism)")
            if reply.code == 334 {
                let cancelled = try? await connection.command("*")
                return ProbeResult(
                    category: "auth", name: name, status: .fail,
                    evidence: "\(isOffered ? "offered in EHLO; " : "")AUTH \(mechanism) in plaintext: \(reply) (cancelled: \(cancelled.map { "\($0)" } ?? "no reply"))")
            }
            if reply.isPositiveCompletion {
                return ProbeResult(category: "auth", name: name, status: .fail, evidence: "AUTH \(mechanism) without any credential: \(reply)")
            }
            if isOffered {
                return ProbeResult(category: "auth", name: name, status: .fail, evidence: "offered in EHLO before TLS (AUTH \(offered.joined(separator: " "))); AUTH \(mechanism): \(reply)")
            }
            return ProbeResult(category: "auth", name: name, status: .pass, evidence: "not offered; AUTH \(mechanism): \(reply)")
        } catch {
            return ProbeResult(category: "auth", name: name, status: isOffered ? .fail : .pass,
                               evidence: "\(isOffered ? "offered in EHLO before TLS; " : "not offered; ")AUTH \(mechanism): \(error)")
        }
    }
}
