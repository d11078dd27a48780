import MailTLS
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

extension MailTLSSuite {
    @Suite("TLS handlers in memory")
    struct TLSHandlerTests {
        @Test("a handshake succeeds and data flows both ways")
        func handshakeAndData() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: "mx.example.test",
                                         verification: .certificateAuthorityAndHostName(["mx.example.test"]), handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            #expect(pair.interact().isEmpty)

            let client = try #require(try InMemoryPair.outcome(pair.clientHandshake)?.get())
            let server = try #require(try InMemoryPair.outcome(pair.serverHandshake)?.get())
            #expect(client.protocolVersion == .tls1_3)
            #expect(client.cipher == server.cipher)
            #expect(client.cipherBits >= 128)
            #expect(client.verification == .ok)
            #expect(client.peerCertificate?.subject == "/O=SwiftMTA Tests/CN=mx.example.test")
            #expect(client.peerCertificate?.issuer == "/O=SwiftMTA Tests/CN=SwiftMTA Test Intermediate CA")
            #expect(server.verification == .notRequested)
            #expect(server.peerCertificate == nil)
            #expect(server.serverName == "mx.example.test")
            #expect(server.logFields == "version=TLSv1.3, verify=NOT, cipher=\(server.cipher), bits=\(server.cipherBits)/\(server.cipherAlgorithmBits)")
            #expect(client.receivedHeaderComment == "(version=TLSv1.3 cipher=\(client.cipher) bits=\(client.cipherBits) verify=OK)")

            try pair.client.writeOutbound(ByteBuffer(string: "EHLO client.example.test\r\n"))
            pair.interact()
            #expect(try InMemoryPair.received(pair.server) == "EHLO client.example.test\r\n")
            try pair.server.writeOutbound(ByteBuffer(string: "250 mx.example.test\r\n"))
            pair.interact()
            #expect(try InMemoryPair.received(pair.client) == "250 mx.example.test\r\n")
        }

        @Test("the bytes on the wire are not the plaintext")
        func encrypted() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .certificateAuthority, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            try pair.client.writeOutbound(ByteBuffer(string: "MAIL FROM:<secret@example.test>\r\n"))
            var wire = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
            let bytes = wire.readBytes(length: wire.readableBytes) ?? []
            #expect(bytes.first == 23, "an application_data record (RFC 8446 §5.1)")
            #expect(!String(decoding: bytes, as: UTF8.self).contains("secret"))
            try pair.server.writeInbound(ByteBuffer(bytes: bytes))
            #expect(try InMemoryPair.received(pair.server) == "MAIL FROM:<secret@example.test>\r\n")
        }

        @Test("writes made before the handshake finishes are sent after it, in order")
        func earlyWrites() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .none, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            let first = pair.client.eventLoop.makePromise(of: Void.self)
            let second = pair.client.eventLoop.makePromise(of: Void.self)
            pair.client.writeAndFlush(ByteBuffer(string: "one "), promise: first)
            pair.client.writeAndFlush(ByteBuffer(string: "two"), promise: second)
            #expect(!InMemoryPair.isDone(first.futureResult) && !InMemoryPair.isDone(second.futureResult))
            pair.interact()
            #expect(InMemoryPair.isDone(first.futureResult) && InMemoryPair.isDone(second.futureResult))
            #expect(try InMemoryPair.received(pair.server) == "one two")
        }

        @Test("a megabyte each way arrives whole", arguments: [TLSProtocolVersion.tls1_2, .tls1_3])
        func bulk(version: TLSProtocolVersion) async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext { $0.maximumProtocolVersion = version }
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .certificateAuthority, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            #expect(try InMemoryPair.outcome(pair.clientHandshake)?.get().protocolVersion == version)
            let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            try pair.client.writeOutbound(ByteBuffer(bytes: payload))
            try pair.server.writeOutbound(ByteBuffer(bytes: payload.reversed()))
            pair.interact()
            var atServer: [UInt8] = []
            while var buffer = try pair.server.readInbound(as: ByteBuffer.self) { atServer += buffer.readBytes(length: buffer.readableBytes)! }
            var atClient: [UInt8] = []
            while var buffer = try pair.client.readInbound(as: ByteBuffer.self) { atClient += buffer.readBytes(length: buffer.readableBytes)! }
            #expect(atServer == payload)
            #expect(atClient == payload.reversed())
        }

        @Test("close sends close_notify; the peer answers it and closes too")
        func closeNotify() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .certificateAuthority, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            try pair.server.writeOutbound(ByteBuffer(string: "221 2.0.0 Bye\r\n"))
            let closed = pair.server.eventLoop.makePromise(of: Void.self)
            pair.server.close(promise: closed)
            // The server's last bytes: the reply, then close_notify (an alert record, type 21).
            var records: [UInt8] = []
            while var buffer = try pair.server.readOutbound(as: ByteBuffer.self) {
                let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                if let type = bytes.first { records.append(type) }
                try pair.client.writeInbound(ByteBuffer(bytes: bytes))
            }
            #expect(InMemoryPair.isDone(closed.futureResult))
            #expect(records.last == 23, "TLS 1.3 hides the alert's type inside application_data")
            #expect(try InMemoryPair.received(pair.client) == "221 2.0.0 Bye\r\n")
            // The client answered with its own close_notify and closed without an error.
            #expect(!pair.client.isActive)
        }

        @Test("a connection cut without close_notify reports an unclean shutdown")
        func uncleanShutdown() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let serverContext = try pki.serverContext()
            let clientContext = try pki.clientContext()
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: nil, verification: .certificateAuthority, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            pair.server.pipeline.fireChannelInactive()
            let error = #expect(throws: TLSError.self) { try pair.server.throwIfErrorCaught() }
            #expect(error?.kind == .uncleanShutdown)
            #expect(error?.message.contains("192.0.2.1:25") == true)
        }

        @Test("garbage instead of a ClientHello fails the handshake with OpenSSL's reason")
        func garbage() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = EmbeddedChannel()
            let promise = server.eventLoop.makePromise(of: TLSSessionFacts.self)
            try server.pipeline.syncOperations.addHandler(TLSHandler(serverContext: pki.serverContext(), handshakePromise: promise))
            server.connect(to: try SocketAddress(ipAddress: "192.0.2.9", port: 25), promise: nil)
            #expect(throws: TLSError.self) { try server.writeInbound(ByteBuffer(string: "EHLO plaintext.example\r\n")) }
            let error = try #require(InMemoryPair.outcome(promise).map { result -> TLSError? in
                if case .failure(let error) = result { return error as? TLSError }
                return nil
            } ?? nil)
            #expect(error.kind == .handshakeFailed)
            #expect(error.message.contains("192.0.2.9:25"))
            #expect(error.message.contains("wrong version number") || error.message.contains("unknown protocol"))
            #expect(!server.isActive)
        }

        @Test("a handshake that does not finish in time fails and closes")
        func handshakeTimeout() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = EmbeddedChannel()
            let promise = server.eventLoop.makePromise(of: TLSSessionFacts.self)
            let context = try pki.serverContext { $0.handshakeTimeout = .seconds(5) }
            try server.pipeline.syncOperations.addHandler(TLSHandler(serverContext: context, handshakePromise: promise))
            server.connect(to: try SocketAddress(ipAddress: "192.0.2.9", port: 25), promise: nil)
            server.embeddedEventLoop.advanceTime(by: .seconds(4))
            #expect(InMemoryPair.outcome(promise) == nil)
            server.embeddedEventLoop.advanceTime(by: .seconds(2))
            guard case .failure(let error as TLSError) = InMemoryPair.outcome(promise) else {
                Issue.record("the handshake did not fail")
                return
            }
            #expect(error.kind == .handshakeTimedOut)
            #expect(!server.isActive)
        }
    }
}

extension MailTLSSuite {
    @Suite("Peer verification in memory")
    struct TLSVerificationTests {
        /// Runs a handshake and returns both outcomes.
        private func handshake(
            server serverContext: TLSServerContext, client clientContext: TLSClientContext,
            serverName: String? = "mx.example.test", verification: TLSPeerVerification
        ) throws -> (client: Result<TLSSessionFacts, any Error>?, server: Result<TLSSessionFacts, any Error>?) {
            let pair = try InMemoryPair(
                client: { try TLSHandler(clientContext: clientContext, serverName: serverName, verification: verification, handshakePromise: $0) },
                server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
            defer { pair.finish() }
            pair.interact()
            return (InMemoryPair.outcome(pair.clientHandshake), InMemoryPair.outcome(pair.serverHandshake))
        }

        private func failure(_ result: Result<TLSSessionFacts, any Error>?) -> TLSError? {
            guard case .failure(let error) = result else { return nil }
            return error as? TLSError
        }

        @Test("a wrong host name fails verification with the reason")
        func wrongHostName() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let outcome = try handshake(
                server: pki.serverContext(), client: pki.clientContext(),
                verification: .certificateAuthorityAndHostName(["mail.other.test"]))
            let error = try #require(failure(outcome.client))
            #expect(error.kind == .verificationFailed)
            #expect(error.message.contains("hostname mismatch"))
        }

        @Test("a certificate from an untrusted CA fails verification with the reason")
        func untrustedCA() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.untrustedServerCertificate, privateKeyFile: pki.untrustedServerKey))
            let outcome = try handshake(server: server, client: pki.clientContext(), verification: .certificateAuthority)
            let error = try #require(failure(outcome.client))
            #expect(error.kind == .verificationFailed)
            #expect(error.message.contains("unable to get local issuer certificate"))
        }

        @Test("opportunistic TLS goes ahead with an untrusted certificate and reports FAIL")
        func opportunistic() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try TLSServerContext(configuration: .server(
                certificateChainFile: pki.untrustedServerCertificate, privateKeyFile: pki.untrustedServerKey))
            let outcome = try handshake(server: server, client: pki.clientContext(), verification: .none)
            let facts = try #require(try outcome.client?.get())
            #expect(facts.verification == .failed(reason: "unable to get local issuer certificate"))
            #expect(facts.logFields.contains("verify=FAIL"))
            #expect(facts.description.contains("verifymsg=unable to get local issuer certificate"))
        }

        @Test("a CA directory hashed by openssl rehash is trusted")
        func caDirectory() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let client = try TLSClientContext(configuration: .client(caDirectory: pki.rootDirectory))
            let outcome = try handshake(
                server: pki.serverContext(), client: client, verification: .certificateAuthorityAndHostName(["mx.example.test"]))
            #expect(try outcome.client?.get().verification == .ok)
        }

        @Test("client certificates: requested optionally, required, verified, reported")
        func clientCertificates() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let withCertificate = try pki.clientContext {
                $0.certificateChainFile = pki.clientCertificate
                $0.privateKeyFile = pki.clientKey
            }
            let untrustedCertificate = try pki.clientContext {
                $0.certificateChainFile = pki.untrustedServerCertificate
                $0.privateKeyFile = pki.untrustedServerKey
            }
            let without = try pki.clientContext()
            let optional = try pki.serverContext { $0.clientCertificates = .optional }
            let required = try pki.serverContext { $0.clientCertificates = .required }

            let verified = try handshake(server: optional, client: withCertificate, verification: .certificateAuthority)
            let facts = try #require(try verified.server?.get())
            #expect(facts.verification == .ok)
            #expect(facts.peerCertificate?.subject == "/O=SwiftMTA Tests/CN=client.example.test")
            #expect(facts.peerCertificate?.sha256Fingerprint.count == 95)

            let absent = try handshake(server: optional, client: without, verification: .certificateAuthority)
            #expect(try absent.server?.get().verification == .noPeerCertificate)
            #expect(try absent.server?.get().logFields.contains("verify=NO") == true)

            let unverified = try handshake(server: optional, client: untrustedCertificate, verification: .certificateAuthority)
            let unverifiedFacts = try #require(try unverified.server?.get())
            // With every certificate accepted, OpenSSL reports the last of its reasons.
            #expect(unverifiedFacts.verification == .failed(reason: "unable to verify the first certificate"), "\(unverifiedFacts)")

            let refused = try handshake(server: required, client: without, verification: .certificateAuthority)
            #expect(failure(refused.server)?.kind == .handshakeFailed)
            #expect(failure(refused.server)?.message.contains("peer did not return a certificate") == true)

            let refusedUntrusted = try handshake(server: required, client: untrustedCertificate, verification: .certificateAuthority)
            #expect(failure(refusedUntrusted.server)?.kind == .verificationFailed)

            let accepted = try handshake(server: required, client: withCertificate, verification: .certificateAuthority)
            #expect(try accepted.server?.get().verification == .ok)
        }

        @Test("TLS 1.2 with a configured cipher list negotiates that cipher")
        func cipherList() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try pki.serverContext {
                $0.maximumProtocolVersion = .tls1_2
                $0.cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256"
            }
            let outcome = try handshake(server: server, client: pki.clientContext(), verification: .certificateAuthority)
            let facts = try #require(try outcome.client?.get())
            #expect(facts.protocolVersion == .tls1_2)
            #expect(facts.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256")
            #expect(facts.cipherBits == 128)
            #expect(facts.logFields.hasPrefix("version=TLSv1.2, verify=OK, cipher=ECDHE-ECDSA-AES128-GCM-SHA256, bits=128/128"))
        }

        @Test("TLS 1.3 cipher suites are honoured")
        func cipherSuites() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try pki.serverContext { $0.cipherSuites = "TLS_CHACHA20_POLY1305_SHA256" }
            let outcome = try handshake(server: server, client: pki.clientContext(), verification: .certificateAuthority)
            #expect(try outcome.client?.get().cipher == "TLS_CHACHA20_POLY1305_SHA256")
        }

        @Test("no common protocol version fails the handshake")
        func noCommonVersion() async throws {
            let pki = try await TestPKI.sharedOffThread()
            let server = try pki.serverContext { $0.minimumProtocolVersion = .tls1_3 }
            let client = try pki.clientContext { $0.maximumProtocolVersion = .tls1_2 }
            let outcome = try handshake(server: server, client: client, verification: .certificateAuthority)
            #expect(failure(outcome.server)?.kind == .handshakeFailed)
            #expect(failure(outcome.server)?.message.contains("unsupported protocol") == true)
            #expect(failure(outcome.client)?.kind == .handshakeFailed)
        }
    }
}

extension MailTLSSuite.TLSHandlerTests {
    /// Writes three buffers, each with a promise, when plaintext arrives, and flushes them as one
    /// batch: the way an SMTP server answers a pipelined group.
    final class BatchWriter: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var promises: [EventLoopPromise<Void>] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            for reply in ["250 first\r\n", "250 second\r\n", "250 third\r\n"] {
                let promise = context.eventLoop.makePromise(of: Void.self)
                promises.append(promise)
                context.write(wrapOutboundOut(ByteBuffer(string: reply)), promise: promise)
            }
            context.flush()
        }
    }

    @Test("a write that fails mid-batch fails every promise of the batch, the later ones too")
    func failedBatchCompletesEveryPromise() async throws {
        let pki = try await TestPKI.sharedOffThread()
        let serverContext = try pki.serverContext()
        let clientContext = try pki.clientContext()
        let pair = try InMemoryPair(
            client: { try TLSHandler(clientContext: clientContext, serverName: "mx.example.test",
                                     verification: .certificateAuthorityAndHostName(["mx.example.test"]), handshakePromise: $0) },
            server: { try TLSHandler(serverContext: serverContext, handshakePromise: $0) })
        defer { pair.finish() }
        pair.interact()
        let writer = BatchWriter()
        try pair.server.pipeline.syncOperations.addHandler(writer)

        // One good record, then an application_data record that does not decrypt: the server
        // passes the good plaintext on, and the application answers while OpenSSL is already
        // broken, so the first of its three writes fails.
        try pair.client.writeOutbound(ByteBuffer(string: "NOOP\r\n"))
        var good = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        good.writeBytes([0x17, 0x03, 0x03, 0x00, 0x20] + [UInt8](repeating: 0x5A, count: 32))
        _ = try? pair.server.writeInbound(good)

        #expect(writer.promises.count == 3)
        for (index, promise) in writer.promises.enumerated() {
            #expect(InMemoryPair.isDone(promise.futureResult), "the promise of write \(index + 1) was never completed")
            #expect(InMemoryPair.hasFailed(promise.futureResult), "write \(index + 1) must fail with the connection")
        }
    }
}
