import MailTLS
import NIOCore
import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ServerProber {
    /// A MailTLS client configuration for the probes: the system's CAs and `--ca-file`.
    func clientConfiguration(minimum: TLSProtocolVersion = .tls1_2, maximum: TLSProtocolVersion? = nil, caFile: String? = nil) -> TLSConfiguration {
        var configuration = TLSConfiguration.client(caFile: caFile ?? request.caFile)
        configuration.trustsSystemCertificates = true
        configuration.minimumProtocolVersion = minimum
        configuration.maximumProtocolVersion = maximum
        configuration.handshakeTimeout = timeout
        // TLS 1.0 and 1.1 need OpenSSL's security level 0 (SHA-1 signatures): for the probe
        // client that offers only them, nowhere else.
        if minimum < .tls1_2 { configuration.securityLevel = 0 }
        return configuration
    }

    /// The name the certificate must carry.
    func certificateName(_ facts: ServerFacts) -> String {
        if let name = request.serverName { return name }
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return isAddress ? facts.name : host
    }

    /// STARTTLS, then a handshake with `context`: the facts, or why it did not happen
    /// (`refused` when the server answered STARTTLS with something other than 220).
    enum Handshake {
        case established(TLSSessionFacts)
        case refused(SMTPReply)
        case failed(String)
    }

    func handshake(context: TLSClientContext, serverName: String, verification: TLSPeerVerification = .none) async -> Handshake {
        do {
            return try await session { connection, _ -> Handshake in
                let ready = try await connection.command("STARTTLS")
                guard ready.code == 220 else { return .refused(ready) }
                do {
                    let facts = try await connection.startTLS(context: context, serverName: serverName, verification: verification)
                    await connection.quit()
                    return .established(facts)
                } catch {
                    return .failed("\(error)")
                }
            }
        } catch {
            return .failed("\(error)")
        }
    }

    /// CVE-2011-0411: `STARTTLS` and a NOOP in one write. The NOOP is plaintext the client sent
    /// before TLS; a server that answers it after the handshake (or before it) runs commands an
    /// attacker in the path injected.
    func startTLSInjection(_ facts: ServerFacts) async -> [ProbeResult] {
        let name = "command pipelined after STARTTLS"
        func result(_ status: ProbeResult.Status, _ evidence: String) -> [ProbeResult] {
            [ProbeResult(category: "starttls", name: name, status: status, evidence: evidence)]
        }
        guard facts.offersSTARTTLS else { return result(.skip, "STARTTLS is not offered") }
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: clientConfiguration())
        } catch {
            return result(.skip, "no TLS client: \(error)")
        }
        do {
            return try await session { connection, _ -> [ProbeResult] in
                try await connection.send("STARTTLS\r\nNOOP swiftmta-check-injection")
                let ready = try await connection.reply()
                guard ready.code == 220 else { return result(.pass, "STARTTLS with a command after it refused: \(ready)") }
                if connection.bufferedOctets > 0 {
                    return result(.fail, "the server answered the pipelined NOOP in plaintext right after its 220")
                }
                do {
                    _ = try await connection.startTLS(context: context, serverName: certificateName(facts), verification: .none)
                } catch let error as TLSError where error.kind == .unreadPlaintext {
                    return result(.fail, "the server answered the pipelined NOOP in plaintext after its 220: \(error)")
                } catch {
                    return result(.skip, "the TLS handshake failed: \(error)")
                }
                // Under TLS the client has sent nothing yet: the first reply must be QUIT's.
                try await connection.send("QUIT")
                let first = try await connection.reply()
                if first.code == 221 {
                    return result(.pass, "the pipelined NOOP was discarded: the first reply under TLS is QUIT's \(first)")
                }
                return result(.fail, "the NOOP sent before TLS was answered under TLS: \(first)")
            }
        } catch {
            return result(.skip, "no session: \(error)")
        }
    }

    /// STARTTLS offered and working, the protocol versions accepted, and the certificate.
    func tls(_ facts: ServerFacts) async -> [ProbeResult] {
        var results: [ProbeResult] = []
        let versions: [(TLSProtocolVersion, String)] = [(.tls1_0, "TLS 1.0"), (.tls1_1, "TLS 1.1"), (.tls1_2, "TLS 1.2"), (.tls1_3, "TLS 1.3")]
        guard facts.offersSTARTTLS else {
            results.append(ProbeResult(category: "tls", name: "STARTTLS", status: .fail, evidence: "not offered in EHLO: mail to this server travels in plaintext"))
            results += versions.map { ProbeResult(category: "tls", name: $0.1, status: .skip, evidence: "no STARTTLS") }
            results += ["expiry", "name", "chain"].map { ProbeResult(category: "certificate", name: $0, status: .skip, evidence: "no STARTTLS") }
            return results
        }
        let serverName = certificateName(facts)
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: clientConfiguration())
        } catch {
            return [ProbeResult(category: "tls", name: "STARTTLS", status: .skip, evidence: "no TLS client: \(error)")]
        }
        let established: TLSSessionFacts
        switch await handshake(context: context, serverName: serverName) {
        case .established(let tls):
            established = tls
            results.append(ProbeResult(category: "tls", name: "STARTTLS", status: .pass, evidence: "\(tls.protocolVersion), \(tls.cipher), \(tls.cipherBits) bits"))
        case .refused(let reply):
            results.append(ProbeResult(category: "tls", name: "STARTTLS", status: .fail, evidence: "offered, but STARTTLS gets \(reply)"))
            return results
        case .failed(let reason):
            results.append(ProbeResult(category: "tls", name: "STARTTLS", status: .fail, evidence: "offered, but the handshake fails: \(reason)"))
            return results
        }

        for (version, name) in versions {
            let context: TLSClientContext
            do {
                context = try TLSClientContext(configuration: clientConfiguration(minimum: version, maximum: version))
            } catch {
                results.append(ProbeResult(category: "tls", name: name, status: .skip, evidence: "this OpenSSL cannot offer \(name) alone: \(error)"))
                continue
            }
            let outcome = await handshake(context: context, serverName: serverName)
            let old = version < .tls1_2
            switch outcome {
            case .established(let tls):
                results.append(ProbeResult(
                    category: "tls", name: name, status: old ? .fail : .pass,
                    evidence: "accepted (\(tls.cipher))\(old ? ": RFC 8996 deprecates it" : "")"))
            case .failed(let reason) where Self.isLocalProtocolFailure(reason):
                results.append(ProbeResult(category: "tls", name: name, status: .skip, evidence: "this OpenSSL will not offer \(name): \(reason)"))
            case .failed(let reason):
                results.append(ProbeResult(category: "tls", name: name, status: old ? .pass : (version == .tls1_3 ? .warn : .pass),
                                           evidence: "refused: \(reason)"))
            case .refused(let reply):
                results.append(ProbeResult(category: "tls", name: name, status: .skip, evidence: "STARTTLS gets \(reply)"))
            }
        }
        if !results.contains(where: { ($0.name == "TLS 1.2" || $0.name == "TLS 1.3") && $0.evidence.hasPrefix("accepted") }) {
            results.append(ProbeResult(category: "tls", name: "TLS 1.2 or later", status: .fail, evidence: "neither TLS 1.2 nor TLS 1.3 is accepted"))
        }
        results += await certificate(established, serverName: serverName)
        return results
    }

    /// A handshake that failed before the server was asked: the local OpenSSL will not offer the
    /// version (built without it, or its policy forbids it).
    static func isLocalProtocolFailure(_ reason: String) -> Bool {
        let text = reason.lowercased()
        return text.contains("no protocols available") || text.contains("no ciphers available")
    }

    /// The certificate's dates, name and chain.
    private func certificate(_ facts: TLSSessionFacts, serverName: String) async -> [ProbeResult] {
        guard let leaf = facts.peerCertificate else {
            return ["expiry", "name", "chain"].map { ProbeResult(category: "certificate", name: $0, status: .fail, evidence: "the server sent no certificate") }
        }
        var results: [ProbeResult] = []
        let now = Int(time(nil))
        switch (CertificateTime.seconds(leaf.notBefore), CertificateTime.seconds(leaf.notAfter)) {
        case (let start?, let end?):
            let days = (end - now) / 86_400
            if now < start {
                results.append(ProbeResult(category: "certificate", name: "expiry", status: .fail, evidence: "not valid before \(leaf.notBefore)"))
            } else if end < now {
                results.append(ProbeResult(category: "certificate", name: "expiry", status: .fail, evidence: "expired on \(leaf.notAfter)"))
            } else {
                results.append(ProbeResult(category: "certificate", name: "expiry", status: days < 14 ? .warn : .pass,
                                           evidence: "valid until \(leaf.notAfter) (\(days) days)"))
            }
        default:
            results.append(ProbeResult(category: "certificate", name: "expiry", status: .warn, evidence: "unreadable dates: \(leaf.notBefore) to \(leaf.notAfter)"))
        }

        let chainTrusted: Bool
        switch facts.verification {
        case .ok:
            chainTrusted = true
        case .failed(let reason):
            chainTrusted = false
            results.append(ProbeResult(category: "certificate", name: "chain", status: .fail,
                                       evidence: "\(reason) (issuer \(leaf.issuer)); name the CA with --ca-file if it is your own"))
        case .noPeerCertificate, .notRequested:
            chainTrusted = false
            results.append(ProbeResult(category: "certificate", name: "chain", status: .fail, evidence: "not verified: \(facts.verification)"))
        }
        if chainTrusted {
            results.append(ProbeResult(category: "certificate", name: "chain", status: .pass, evidence: "verifies (issuer \(leaf.issuer))"))
        }
        results.insert(await nameMatch(leaf, chainTrusted: chainTrusted, serverName: serverName), at: 1)
        return results
    }

    /// RFC 6125: whether the certificate names `serverName`. MailTLS checks names only with a
    /// trusted chain, so an untrusted self-signed certificate is trusted for this one handshake.
    private func nameMatch(_ leaf: TLSCertificate, chainTrusted: Bool, serverName: String) async -> ProbeResult {
        var folder: String?
        defer {
            if let folder {
                unlink(folder + "/leaf.pem")
                rmdir(folder)
            }
        }
        var caFile: String?
        if !chainTrusted {
            guard leaf.subject == leaf.issuer else {
                return ProbeResult(category: "certificate", name: "name", status: .skip,
                                   evidence: "the chain is not trusted, so the name cannot be checked (subject \(leaf.subject))")
            }
            do {
                let made = try Self.temporaryFolder()
                folder = made
                let pem = "-----BEGIN CERTIFICATE-----\n" + Self.wrapped(Base64.encode(leaf.der)) + "-----END CERTIFICATE-----\n"
                try FileSupport.writeAtomically(pem, to: made + "/leaf.pem", mode: 0o600)
                caFile = made + "/leaf.pem"
            } catch {
                return ProbeResult(category: "certificate", name: "name", status: .skip, evidence: "\(error)")
            }
        }
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: clientConfiguration(caFile: caFile))
        } catch {
            return ProbeResult(category: "certificate", name: "name", status: .skip, evidence: "no TLS client: \(error)")
        }
        switch await handshake(context: context, serverName: serverName, verification: .certificateAuthorityAndHostName([serverName])) {
        case .established:
            return ProbeResult(category: "certificate", name: "name", status: .pass, evidence: "names \(serverName) (subject \(leaf.subject))")
        case .failed(let reason):
            return ProbeResult(category: "certificate", name: "name", status: .fail,
                               evidence: "does not name \(serverName) (subject \(leaf.subject)): \(reason); give the MX name with --server-name")
        case .refused(let reply):
            return ProbeResult(category: "certificate", name: "name", status: .skip, evidence: "STARTTLS gets \(reply)")
        }
    }

    static func wrapped(_ text: String) -> String {
        var lines = ""
        var rest = Substring(text)
        while !rest.isEmpty {
            lines += rest.prefix(64) + "\n"
            rest = rest.dropFirst(64)
        }
        return lines
    }

    static func temporaryFolder() throws(SessionCheckError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/swiftmta-check-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SessionCheckError("cannot make a temporary folder in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: result)
    }
}

/// OpenSSL's printed certificate times (`Nov 21 05:00:23 2026 GMT`) as seconds since 1970.
enum CertificateTime {
    static func seconds(_ text: String) -> Int? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let fields = text.split(separator: " ")
        guard fields.count == 5, fields[4] == "GMT", let month = months.firstIndex(of: String(fields[0])),
              let day = Int(fields[1]), let year = Int(fields[3]) else { return nil }
        let clock = fields[2].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(clock[0])
        parts.tm_min = Int32(clock[1])
        parts.tm_sec = Int32(clock[2])
        return Int(timegm(&parts))
    }
}
