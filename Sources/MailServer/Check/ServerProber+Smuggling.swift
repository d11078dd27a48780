import SMTPProtocol

extension ServerProber {
    /// End-of-data look-alikes (RFC 5321 §4.1.1.4: only CRLF.CRLF ends the text): bare LF, bare
    /// CR, their mixtures, and NUL around the dot — what the 2023 SMTP smuggling research used.
    static let smugglingVariants: [(name: String, bytes: [UInt8])] = [
        ("<LF>.<LF>", [10, 46, 10]),
        ("<LF>.<CR><LF>", [10, 46, 13, 10]),
        ("<CR><LF>.<LF>", [13, 10, 46, 10]),
        ("<CR>.<CR>", [13, 46, 13]),
        ("<CR>.<CR><LF>", [13, 46, 13, 10]),
        ("<CR><LF>.<CR>", [13, 10, 46, 13]),
        ("<LF>.<CR>", [10, 46, 13]),
        ("<CR>.<LF>", [13, 46, 10]),
        ("<CR><LF><NUL>.<CR><LF>", [13, 10, 0, 46, 13, 10]),
        ("<CR><LF>.<NUL><CR><LF>", [13, 10, 46, 0, 13, 10]),
    ]

    /// The command that follows each variant: harmless, and answered only by a server that took
    /// the variant for the end of the message.
    static let smugglingMarker = "NOOP swiftmta-check-smuggling"

    /// Whether each variant ends DATA. Each runs on its own connection:
    ///
    /// MAIL from the probe's sender, RCPT to the operator's test mailbox (`--recipient`), DATA,
    /// then in one write a short probe message, the variant, `NOOP swiftmta-check-smuggling`, and
    /// the real end `.` CRLF. A safe server reads the whole as one message and answers once; a
    /// vulnerable one answers the cut-off message, then the NOOP, then the lone dot — which is how
    /// the probe tells. The smuggled part is only a NOOP, never a second MAIL transaction, so a
    /// vulnerable server delivers nothing but the cut-off probe message, to the test mailbox; a
    /// safe one delivers one probe message per variant there (or refuses it).
    func smuggling(_ facts: ServerFacts) async -> [ProbeResult] {
        guard let recipient = request.recipient else {
            return Self.smugglingVariants.map {
                ProbeResult(category: "smuggling", name: $0.name, status: .skip,
                            evidence: "needs a test mailbox at the server that you read (--recipient): each probe delivers one message there")
            }
        }
        let mailbox = recipient.hasPrefix("<") ? recipient : "<\(recipient)>"
        var results: [ProbeResult] = []
        for variant in Self.smugglingVariants {
            let result: ProbeResult
            do {
                result = try await session { connection, _ in
                    await smuggle(variant, to: mailbox, on: &connection)
                }
            } catch {
                result = ProbeResult(category: "smuggling", name: variant.name, status: .skip, evidence: "no session: \(error)")
            }
            results.append(result)
            // Once the test mailbox is refused, the other variants would be refused the same way.
            if result.status == .skip, result.evidence.hasPrefix("RCPT") {
                results += Self.smugglingVariants.dropFirst(results.count).map {
                    ProbeResult(category: "smuggling", name: $0.name, status: .skip, evidence: result.evidence)
                }
                break
            }
        }
        return results
    }

    private func smuggle(_ variant: (name: String, bytes: [UInt8]), to mailbox: String, on connection: inout ProbeConnection) async -> ProbeResult {
        func skip(_ evidence: String) -> ProbeResult {
            ProbeResult(category: "smuggling", name: variant.name, status: .skip, evidence: evidence)
        }
        do {
            let mail = try await connection.command("MAIL FROM:\(sender)")
            guard mail.code == 250 else { return skip("MAIL FROM:\(sender): \(mail)") }
            let rcpt = try await connection.command("RCPT TO:\(mailbox)")
            guard rcpt.isPositiveCompletion else { return skip("RCPT TO:\(mailbox) (the test mailbox): \(rcpt)") }
            let data = try await connection.command("DATA")
            guard data.code == 354 else { return skip("DATA: \(data)") }
        } catch {
            return skip("\(error)")
        }
        let from = sender == "<>" ? "<postmaster@\(request.relayDomain)>" : sender
        var text = Array("""
            From: swiftmta check server \(from)\r
            To: \(mailbox)\r
            Subject: swiftmta check server: SMTP smuggling probe \(variant.name)\r
            \r
            This message tests whether \(variant.name) ends the message text. If it arrived whole,\r
            with the line "\(Self.smugglingMarker)" below, the server treated \(variant.name) as text.
            """.utf8)
        text += variant.bytes
        text += Array("\(Self.smugglingMarker)\r\n.\r\n".utf8)
        do {
            try await connection.send(text)
            let first = try await connection.reply()
            // QUIT marks the end: every reply before its 221 was caused by the message text.
            var extra: [SMTPReply] = []
            do {
                try await connection.send("QUIT")
                while extra.count < 8 {
                    let reply = try await connection.reply()
                    if reply.code == 221 { break }
                    extra.append(reply)
                }
            } catch {
                // Closed after the first answer (a server that refuses bare line ends may close).
            }
            if extra.isEmpty {
                let what = first.isPositiveCompletion ? "one message, one reply" : "refused"
                return ProbeResult(category: "smuggling", name: variant.name, status: .pass, evidence: "\(what): \(first)")
            }
            return ProbeResult(
                category: "smuggling", name: variant.name, status: .fail,
                evidence: "\(variant.name) ended the message: \(first), then the smuggled NOOP got \(extra[0])" + (extra.count > 1 ? ", then \(extra.dropFirst().map { "\($0)" }.joined(separator: ", "))" : ""))
        } catch ProbeConnection.Failure.timedOut(let duration) {
            return ProbeResult(category: "smuggling", name: variant.name, status: .warn,
                               evidence: "no reply within \(Self.milliseconds(duration)) after the real end of the message")
        } catch {
            return ProbeResult(category: "smuggling", name: variant.name, status: .pass, evidence: "the server closed the connection: \(error)")
        }
    }
}
