import SMTPProtocol

extension ServerProber {
    /// The classic open-relay address forms toward `domain`, through a server called `server`
    /// at `literal` (RFC 5321 §3.6.2 for source routes, §4.1.3 for address literals; the percent
    /// hack and bang paths of RFC 1123 §5.2.16 and UUCP).
    static func relayForms(domain: String, server: String, literal: String) -> [String] {
        let user = "swiftmta-relay-test"
        return [
            "\(user)@\(domain)",
            "\(user)@\(domain).",
            "\(user.uppercased())@\(domain.uppercased())",
            "\(user)%\(domain)@\(server)",
            "\(user)%\(domain)@\(server.uppercased()).",
            "\(user)%\(domain)@\(literal)",
            "\(domain)!\(user)@\(server)",
            "\(domain)!\(user)",
            "\"\(user)@\(domain)\"@\(server)",
            "\"\(user)%\(domain)\"@\(server)",
            "\"\(user)@\(domain)\"",
            "@\(server):\(user)@\(domain)",
            "@\(domain):\(user)@\(server)",
            "\(user)@\(domain)@\(server)",
            // RFC 5737 TEST-NET-1: an address literal of no one's host.
            "\(user)@[192.0.2.1]",
            "\(user)%\(domain)%\(server)@\(server)",
        ]
    }

    /// Each relay form in RCPT, from the null or given sender: a 2yz reply fails. Every probe
    /// stops at the RCPT reply and RSET — DATA is never sent, so nothing is relayed even through
    /// an open relay.
    func relay(_ facts: ServerFacts) async -> [ProbeResult] {
        let literal = ServerProber.addressLiteral(address.ipAddress)
        var forms = Self.relayForms(domain: request.relayDomain, server: facts.name.isEmpty ? literal : facts.name, literal: literal)[...]
        var results: [ProbeResult] = []
        var reconnections = 0
        while !forms.isEmpty, reconnections < 4 {
            reconnections += 1
            do {
                let (done, closing) = try await session { connection, _ -> ([ProbeResult], String?) in
                    var done: [ProbeResult] = []
                    for form in forms {
                        let mail: SMTPReply
                        do {
                            mail = try await connection.command("MAIL FROM:\(sender)")
                        } catch {
                            return (done, "\(error)")
                        }
                        if mail.code == 421 { return (done, "\(mail)") }
                        guard mail.code == 250 else {
                            // Nothing can be learnt about RCPT when MAIL is refused.
                            let skipped = forms.dropFirst(done.count).map {
                                ProbeResult(category: "relay", name: $0, status: .skip, evidence: "MAIL FROM:\(sender) refused: \(mail)")
                            }
                            return (done + skipped, nil)
                        }
                        let rcpt: SMTPReply
                        do {
                            rcpt = try await connection.command("RCPT TO:<\(form)>")
                        } catch {
                            return (done, "\(error)")
                        }
                        // 421: the server closes (too many errors); this form is tried again.
                        if rcpt.code == 421 { return (done, "\(rcpt)") }
                        done.append(Self.relayResult(form, rcpt))
                        // RSET ends the transaction before any DATA.
                        do {
                            _ = try await connection.command("RSET")
                        } catch {
                            return (done, "\(error)")
                        }
                    }
                    await connection.quit()
                    return (done, nil)
                }
                results += done
                forms = forms.dropFirst(done.count)
                if closing == nil { break }
            } catch {
                results += forms.map { ProbeResult(category: "relay", name: $0, status: .skip, evidence: "no session: \(error)") }
                return results
            }
        }
        results += forms.map { ProbeResult(category: "relay", name: $0, status: .skip, evidence: "the server kept closing the connection") }
        return results
    }

    static func relayResult(_ form: String, _ reply: SMTPReply) -> ProbeResult {
        let evidence = "RCPT \(reply)"
        if reply.isPositiveCompletion {
            return ProbeResult(category: "relay", name: form, status: .fail, evidence: evidence + " (accepted: the server would relay or mis-route it)")
        }
        if reply.isTransientFailure {
            return ProbeResult(category: "relay", name: form, status: .warn, evidence: evidence + " (only a temporary refusal)")
        }
        return ProbeResult(category: "relay", name: form, status: .pass, evidence: evidence)
    }
}
