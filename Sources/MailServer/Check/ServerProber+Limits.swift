import SMTPProtocol

extension ServerProber {
    /// The longest command line the overlong probe sends: 1 MiB, 2,000 times RFC 5321's 512
    /// octets (§4.5.3.1.4).
    static let overlongLineOctets = 1 << 20
    /// Unknown commands the flood probe pipelines.
    static let floodCommands = 100

    /// A server must bound what one client can make it hold or do.
    func limits(_ facts: ServerFacts) async -> [ProbeResult] {
        [await overlongLine(), await nulInCommand(), await commandFlood()]
    }

    /// `NOOP` and 1 MiB on one line: refused (or the connection closed) passes; a 2yz reply means
    /// the server held the whole line.
    private func overlongLine() async -> ProbeResult {
        let name = "overlong command line"
        do {
            return try await session { connection, _ in
                var line = Array("NOOP ".utf8)
                line += [UInt8](repeating: UInt8(ascii: "x"), count: Self.overlongLineOctets)
                line += [13, 10]
                do {
                    try await connection.send(line)
                    let reply = try await connection.reply()
                    if reply.isPositiveCompletion {
                        return ProbeResult(category: "limits", name: name, status: .fail,
                                           evidence: "a \(Self.overlongLineOctets >> 10) KiB command line got \(reply): no line length limit")
                    }
                    return ProbeResult(category: "limits", name: name, status: .pass, evidence: "a \(Self.overlongLineOctets >> 10) KiB command line: \(reply)")
                } catch ProbeConnection.Failure.timedOut(let duration) {
                    return ProbeResult(category: "limits", name: name, status: .warn, evidence: "no reply within \(Self.milliseconds(duration)) to a \(Self.overlongLineOctets >> 10) KiB command line")
                } catch {
                    return ProbeResult(category: "limits", name: name, status: .pass, evidence: "a \(Self.overlongLineOctets >> 10) KiB command line: \(error)")
                }
            }
        } catch {
            return ProbeResult(category: "limits", name: name, status: .skip, evidence: "no session: \(error)")
        }
    }

    /// A NUL inside the sender's address: C code downstream would cut the address there.
    private func nulInCommand() async -> ProbeResult {
        let name = "NUL in a command"
        do {
            return try await session { connection, _ in
                do {
                    try await connection.send(Array("MAIL FROM:<swiftmta-check".utf8) + [0] + Array("nul@\(request.relayDomain)>\r\n".utf8))
                    let reply = try await connection.reply()
                    if reply.isPositiveCompletion {
                        return ProbeResult(category: "limits", name: name, status: .fail, evidence: "MAIL FROM with a NUL in the address: \(reply)")
                    }
                    await connection.quit()
                    return ProbeResult(category: "limits", name: name, status: .pass, evidence: "MAIL FROM with a NUL in the address: \(reply)")
                } catch {
                    return ProbeResult(category: "limits", name: name, status: .pass, evidence: "MAIL FROM with a NUL in the address: \(error)")
                }
            }
        } catch {
            return ProbeResult(category: "limits", name: name, status: .skip, evidence: "no session: \(error)")
        }
    }

    /// A hundred unknown commands in one write: a server should hang up after a few errors
    /// (Sendmail's MAXBADCOMMANDS, Postfix's smtpd_hard_error_limit) or slow down.
    private func commandFlood() async -> ProbeResult {
        let name = "command flood"
        let count = Self.floodCommands
        do {
            return try await session { connection, _ in
                let start = ContinuousClock.now
                var answered = 0
                var last: SMTPReply?
                do {
                    try await connection.send(Array(String(repeating: "XSWIFTMTACHECK\r\n", count: count).utf8))
                    while answered < count {
                        last = try await connection.reply()
                        answered += 1
                        if last?.code == 421 { break }
                    }
                } catch ProbeConnection.Failure.timedOut(let duration) {
                    return ProbeResult(category: "limits", name: name, status: .pass,
                                       evidence: "\(answered) of \(count) unknown commands answered in \(Self.milliseconds(duration)): the server slows down")
                } catch {
                    return ProbeResult(category: "limits", name: name, status: .pass,
                                       evidence: "closed after \(answered) of \(count) unknown commands\(last.map { ", the last reply \($0)" } ?? "")")
                }
                if last?.code == 421 {
                    return ProbeResult(category: "limits", name: name, status: .pass, evidence: "after \(answered) of \(count) unknown commands: \(last!)")
                }
                let elapsed = ContinuousClock.now - start
                await connection.quit()
                return ProbeResult(category: "limits", name: name, status: .fail,
                                   evidence: "answered all \(count) unknown commands in \(Self.milliseconds(elapsed)) without closing (\(last.map { "\($0)" } ?? ""))")
            }
        } catch {
            return ProbeResult(category: "limits", name: name, status: .skip, evidence: "no session: \(error)")
        }
    }

    /// `1234 ms`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }
}
