import Foundation
import MailTLS
import NIOCore
import Testing
import TestSupport

/// Runs a program on a thread of its own (a server in this process must keep answering) and
/// returns what it printed, whatever its exit status.
func runTool(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> ExternalTool.Output {
    try await offThread { try ExternalTool.run(executable, arguments, input: input, timeout: .seconds(30)) }
}

/// Runs a program whose standard input stays open: once its output (standard output and error
/// together) shows `prompt`, writes `input`; when the output then shows `text`, or `timeout`
/// passes, kills it (SIGKILL) and returns the output.
func runUntil(
    _ executable: String, _ arguments: [String], after prompt: String, input: String, shows text: String, timeout: Duration
) async throws -> String {
    try await offThread {
        guard let path = ExternalTool.find(executable) else { throw TestFailure("\(executable) is not installed") }
        let directory = try TemporaryDirectory()
        let outputFile = directory.file("output")
        try directory.write("output", "")
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = ContinuousClock.now + timeout
        var seen = ""
        var written = false
        while ContinuousClock.now < deadline, process.isRunning {
            seen = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
            if !written, seen.contains(prompt) {
                stdin.fileHandleForWriting.write(Data(input.utf8))
                written = true
            }
            if written, seen.contains(text) { break }
            usleep(20_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? stdin.fileHandleForWriting.close()
        try? output.close()
        return (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? seen
    }
}

/// `openssl s_server` on a free loopback port, killed when the value goes away.
final class OpenSSLServer: Sendable {
    let port: Int
    let process: BackgroundProcess

    init(_ arguments: [String], directory: String? = nil) async throws {
        let port = try LoopbackPort.free()
        self.port = port
        process = try BackgroundProcess(
            "openssl", ["s_server", "-accept", "127.0.0.1:\(port)"] + arguments, directory: directory)
        try await offThread { try LoopbackPort.waitUntilAccepting(port) }
    }
}

extension MailTLSSuite {
    @Suite("Our server against openssl s_client, on loopback")
    struct OpenSSLClientPeerTests {
        @Test("openssl s_client -starttls smtp upgrades a plaintext session and verifies the chain")
        func starttls() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let context = try pki.serverContext()
            let results = try await LoopbackServer.run(session: { connection, _ in
                try await MiniSMTP.serve(connection, context: context)
            }) { port in
                let output = try await runTool("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-starttls", "smtp", "-name", "s-client.example.test",
                    "-servername", "mx.example.test", "-CAfile", pki.rootCertificate,
                    "-verify_hostname", "mx.example.test", "-verify_return_error", "-crlf", "-ign_eof",
                ], input: "MAIL FROM:<s-client@example.test>\nQUIT\n")
                #expect(output.standardOutput.contains("Verify return code: 0 (ok)"), "\(output.standardOutput)\(output.standardError)")
                #expect(output.standardOutput.contains("221 2.0.0 Bye"))
            }
            let transcript = try #require(try results.first?.get())
            #expect(transcript.commands == [
                "plain:EHLO s-client.example.test", "plain:STARTTLS",
                "tls:MAIL FROM:<s-client@example.test>", "tls:QUIT",
            ])
            #expect(transcript.facts?.serverName == "mx.example.test")
            #expect(transcript.facts?.protocolVersion == .tls1_3)
        }

        @Test("implicit TLS (port 465 style) with openssl s_client")
        func implicitTLS() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let context = try pki.serverContext()
            let results = try await LoopbackServer.run(implicitTLS: context, session: { connection, handshake in
                try await MiniSMTP.serve(connection, context: context, implicitTLS: handshake)
            }) { port in
                let output = try await runTool("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "mx.example.test",
                    "-CAfile", pki.rootCertificate, "-verify_hostname", "mx.example.test", "-verify_return_error",
                    "-crlf", "-ign_eof",
                ], input: "EHLO s-client.example.test\nQUIT\n")
                #expect(output.standardOutput.contains("220 mx.example.test ESMTP"), "\(output.standardOutput)\(output.standardError)")
                #expect(output.standardOutput.contains("221 2.0.0 Bye"))
            }
            let transcript = try #require(try results.first?.get())
            #expect(transcript.commands == ["tls:EHLO s-client.example.test", "tls:QUIT"])
        }

        @Test("a TLS 1.0-only client is refused by default, and accepted when TLS 1.0 is allowed")
        func tls10Refused() async throws {
            let pki = try await TestPKI.sharedOffThread()
            // The client offers only TLS 1.0 (at security level 0, as OpenSSL 3 needs for it).
            let arguments = ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "mx.example.test", "-crlf", "-ign_eof"]

            let strict = try pki.serverContext()
            let refused = try await LoopbackServer.run(implicitTLS: strict, session: { connection, handshake in
                try await MiniSMTP.serve(connection, context: strict, implicitTLS: handshake)
            }) { port in
                let output = try await runTool(
                    "openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, input: "QUIT\n")
                #expect(output.status != 0)
                #expect(output.standardError.contains("alert protocol version"), "\(output.standardError)")
            }
            let error = try #require(try refused.first?.get().upgradeError)
            #expect(error.kind == .handshakeFailed)
            #expect(error.message.contains("unsupported protocol"), "\(error)")
            #expect(error.message.contains("127.0.0.1:"))

            let lenient = try pki.serverContext {
                $0.minimumProtocolVersion = .tls1_0
                $0.securityLevel = 0
            }
            let accepted = try await LoopbackServer.run(implicitTLS: lenient, session: { connection, handshake in
                try await MiniSMTP.serve(connection, context: lenient, implicitTLS: handshake)
            }) { port in
                let output = try await runTool(
                    "openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, input: "QUIT\n")
                #expect(output.standardOutput.contains("221 2.0.0 Bye"), "\(output.standardOutput)\(output.standardError)")
            }
            #expect(try accepted.first?.get().facts?.protocolVersion == .tls1_0)
        }

        @Test("a client's renegotiation is refused with no_renegotiation")
        func renegotiationRefused() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let context = try pki.serverContext()
            _ = try await LoopbackServer.run(implicitTLS: context, session: { connection, handshake in
                try await MiniSMTP.serve(connection, context: context, implicitTLS: handshake)
            }) { port in
                // "R" at the start of a line makes s_client renegotiate (TLS 1.2 has renegotiation);
                // it is typed once the greeting has arrived, so no application data crosses the
                // renegotiation, and standard input stays open until the answer shows.
                let output = try await runUntil(
                    "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_2", "-servername", "mx.example.test"],
                    after: "220 mx.example.test ESMTP", input: "R\n", shows: "no renegotiation", timeout: .seconds(20))
                #expect(output.contains("RENEGOTIATING"), "\(output)")
                #expect(output.contains("no renegotiation"), "\(output)")
            }
        }

        @Test("eight megabytes written through the async writer reach s_client whole (write backpressure)")
        func bulkToSClient() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let context = try pki.serverContext()
            let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz!\n"
            let lines = 8 * 1024 * 1024 / line.utf8.count
            _ = try await LoopbackServer.run(implicitTLS: context, session: { connection, handshake in
                _ = try await handshake?.get()
                try await connection.executeThenClose { _, outbound in
                    let chunk = String(repeating: line, count: 512)
                    for _ in 0..<(lines / 512) {
                        try await outbound.write(ByteBuffer(string: chunk))
                    }
                }
            }) { port in
                let output = try await runTool("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-quiet", "-ign_eof",
                ], input: "")
                #expect(output.standardOutput.utf8.count == (lines / 512) * 512 * line.utf8.count, "\(output.standardError)")
                #expect(output.standardOutput.hasPrefix(line))
            }
        }

        @Test("the seed's 1024-bit key is refused at the default security level, and works at level 1")
        func seedKey() async throws {
            let pair = try await offThread { try SelfSignedPair(bits: 1024) }
            let error = #expect(throws: TLSConfigurationError.self) {
                try TLSServerContext(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
            }
            #expect(error?.kind == .weakKey)
            #expect(error?.path == pair.certificate)
            #expect(error?.message.contains("1024-bit RSA key") == true, "\(String(describing: error))")
            #expect(error?.message.contains("security level 2") == true)
            #expect(error?.message.contains("security level to 1") == true)

            var configuration = TLSConfiguration.server(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
            configuration.securityLevel = 1
            let context = try TLSServerContext(configuration: configuration)
            let results = try await LoopbackServer.run(session: { connection, _ in
                try await MiniSMTP.serve(connection, context: context)
            }) { port in
                // s_client at its own default level still connects (opportunistically) and says why
                // it would not trust the key.
                let output = try await runTool("openssl", [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-starttls", "smtp", "-crlf", "-ign_eof",
                ], input: "QUIT\n")
                #expect(output.standardOutput.contains("221 2.0.0 Bye"), "\(output.standardOutput)\(output.standardError)")
                #expect(output.standardOutput.contains("EE certificate key too weak"))
            }
            let facts = try #require(try results.first?.get().facts)
            #expect(facts.verification == .notRequested)
        }
    }
}

extension MailTLSSuite {
    @Suite("Our client against openssl s_server, on loopback")
    struct OpenSSLServerPeerTests {
        /// Connects, checks the handshake, sends a line and returns what came back.
        private func exchange(
            port: Int, context: TLSClientContext, serverName: String? = "mx.example.test", verification: TLSPeerVerification
        ) async throws -> (facts: TLSSessionFacts, reply: String) {
            let (connection, handshake) = try await LoopbackClient.connect(
                port: port, context: context, serverName: serverName, verification: verification)
            let facts: TLSSessionFacts
            do {
                facts = try await handshake.get()
            } catch {
                try? await connection.channel.close()
                throw error
            }
            let reply = try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "hello from swiftmta\n"))
                var text = ""
                for try await chunk in inbound {
                    text += String(buffer: chunk)
                    if text.contains("\n") { break }
                }
                return text
            }
            return (facts, reply)
        }

        @Test("a verified connection to openssl s_server, with SNI and host-name check")
        func verified() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try await OpenSSLServer(["-cert", pki.serverLeaf, "-cert_chain", pki.intermediateCertificate, "-key", pki.serverKey, "-rev"])
            defer { server.process.stop() }
            let (facts, reply) = try await exchange(
                port: server.port, context: pki.clientContext(),
                verification: .certificateAuthorityAndHostName(["mx.example.test"]))
            #expect(reply.contains("atmtfiws morf olleh"), "s_server -rev sends the line back reversed")
            #expect(facts.verification == .ok)
            #expect(facts.protocolVersion == .tls1_3)
            #expect(facts.serverName == "mx.example.test")
            #expect(facts.peerCertificate?.subject == "/O=SwiftMTA Tests/CN=mx.example.test")
            let fingerprint = try await ExternalTool.runChecked(
                "openssl", ["x509", "-in", pki.serverLeaf, "-noout", "-fingerprint", "-sha256"]).standardOutput
            #expect(fingerprint.contains(facts.peerCertificate?.sha256Fingerprint ?? "none"), "same fingerprint as openssl x509")
        }

        @Test("a wrong host name fails with hostname mismatch")
        func wrongHostName() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try await OpenSSLServer(["-cert", pki.serverLeaf, "-cert_chain", pki.intermediateCertificate, "-key", pki.serverKey, "-rev"])
            defer { server.process.stop() }
            let error = await #expect(throws: TLSError.self) {
                try await exchange(
                    port: server.port, context: pki.clientContext(), serverName: "relay.example.test",
                    verification: .certificateAuthorityAndHostName(["relay.example.test"]))
            }
            #expect(error?.kind == .verificationFailed)
            #expect(error?.message.contains("hostname mismatch") == true, "\(String(describing: error))")
            #expect(error?.message.contains("127.0.0.1:\(server.port)") == true)
        }

        @Test("an untrusted CA fails with unable to get local issuer certificate")
        func untrustedCA() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try await OpenSSLServer(["-cert", pki.untrustedServerCertificate, "-key", pki.untrustedServerKey, "-rev"])
            defer { server.process.stop() }
            let error = await #expect(throws: TLSError.self) {
                try await exchange(port: server.port, context: pki.clientContext(), verification: .certificateAuthority)
            }
            #expect(error?.kind == .verificationFailed)
            #expect(error?.message.contains("unable to get local issuer certificate") == true, "\(String(describing: error))")

            // Opportunistic TLS to the same server goes ahead and reports the failure.
            let (facts, _) = try await exchange(port: server.port, context: pki.clientContext(), verification: .none)
            #expect(facts.verification == .failed(reason: "unable to get local issuer certificate"))
        }

        @Test("a slow reader still receives every byte from s_server (read backpressure)")
        func slowReader() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let directory = try TemporaryDirectory()
            let size = 8 * 1024 * 1024
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
            try Data(payload).write(to: URL(fileURLWithPath: directory.file("bulk.bin")))
            let server = try await OpenSSLServer([
                "-cert", pki.serverLeaf, "-cert_chain", pki.intermediateCertificate, "-key", pki.serverKey, "-WWW",
            ], directory: directory.path)
            defer { server.process.stop() }
            let (connection, handshake) = try await LoopbackClient.connect(
                port: server.port, context: pki.clientContext(), serverName: "mx.example.test", verification: .certificateAuthority)
            _ = try await handshake.get()
            let received = try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /bulk.bin HTTP/1.0\r\n\r\n"))
                var bytes: [UInt8] = []
                var chunks = 0
                for try await chunk in inbound {
                    bytes += chunk.readableBytesView
                    chunks += 1
                    // Reading slower than the network delivers makes the async channel stop asking for
                    // reads and ask again later; TLS must keep up with both.
                    if chunks % 8 == 0 { try await Task.sleep(for: .milliseconds(2)) }
                }
                return bytes
            }
            // s_server -WWW sends "HTTP/1.0 200 ok" and a content type before the file.
            let header = try #require(String(decoding: received.prefix(100), as: UTF8.self).range(of: "\r\n\r\n"))
            #expect(String(decoding: received.prefix(15), as: UTF8.self) == "HTTP/1.0 200 ok")
            let headerLength = String(decoding: received.prefix(100), as: UTF8.self)[..<header.upperBound].utf8.count
            #expect(received.count == headerLength + size)
            #expect(Array(received.suffix(size)) == payload)
        }

        @Test("a client certificate is presented to a server that requires one")
        func clientCertificate() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try await OpenSSLServer([
                "-cert", pki.serverLeaf, "-cert_chain", pki.intermediateCertificate, "-key", pki.serverKey, "-rev", "-Verify", "2", "-CAfile", pki.rootCertificate,
                "-verify_return_error",
            ])
            defer { server.process.stop() }
            let context = try pki.clientContext {
                $0.certificateChainFile = pki.clientCertificate
                $0.privateKeyFile = pki.clientKey
            }
            let (_, reply) = try await exchange(port: server.port, context: context, verification: .certificateAuthority)
            #expect(reply.contains("atmtfiws morf olleh"))
            #expect(server.process.output().contains("client.example.test"), "\(server.process.output())")
        }
    }
}
