internal import COpenSSL
internal import NIOCore

/// Owns one OpenSSL `SSL*` and its two memory BIOs: ciphertext from the network is written into
/// the read BIO, ciphertext for the network is taken from the write BIO. Used by ``TLSHandler`` on
/// its event loop only.
///
/// OpenSSL's return codes become ``StepResult`` and ``ReadResult`` at the call site, with the error
/// queue drained on every failure.
final class TLSConnection {
    /// The result of a handshake or shutdown step.
    enum StepResult {
        case complete
        case incomplete
        case failed(TLSError)
    }

    /// The result of reading plaintext.
    enum ReadResult {
        /// Some plaintext was appended to the buffer.
        case data
        /// No more plaintext until more ciphertext arrives.
        case wouldBlock
        /// The peer sent close_notify.
        case closeNotify
        case failed(TLSError)
    }

    enum Role {
        case server
        case client
    }

    /// Whether the connection verifies by DANE, and with what.
    private enum DANEState {
        case notRequested
        /// Usable records were added to OpenSSL's DANE verifier.
        case verifying
        /// No record was usable: encrypt without authentication (RFC 7672 §2.2).
        case noUsableRecords
    }

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    /// Keeps the SSL_CTX alive as long as the connection.
    private let context: OpenSSLContext
    let role: Role
    private let clientCertificatePolicy: TLSClientCertificatePolicy
    /// What DANE was asked to do on this connection.
    private var dane: DANEState = .notRequested
    /// The peer, for messages: `127.0.0.1:25`, or `peer` before the channel is known.
    var peer = "peer"

    /// The largest ciphertext chunk handed to OpenSSL in one call.
    private static let maximumChunk = Int(Int32.max)

    /// A server connection.
    convenience init(server context: TLSServerContext) throws {
        try self.init(context: context.openSSL, role: .server, clientCertificates: context.configuration.clientCertificates)
        SSL_set_accept_state(ssl)
    }

    /// A client connection that sends `serverName` as SNI and verifies the server by `verification`.
    convenience init(client context: TLSClientContext, serverName: String?, verification: TLSPeerVerification) throws {
        try self.init(context: context.openSSL, role: .client, clientCertificates: .none)
        try configureClient(serverName: serverName, verification: verification)
        SSL_set_connect_state(ssl)
    }

    private init(context: OpenSSLContext, role: Role, clientCertificates: TLSClientCertificatePolicy) throws {
        _ = OpenSSLErrorQueue.drain()
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError(.invalidState, "cannot create a TLS connection: \(OpenSSLErrorQueue.drainedReason(fallback: "out of memory"))")
        }
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError(.invalidState, "cannot create a TLS read buffer: out of memory")
        }
        guard let writeBIO = BIO_new(BIO_s_mem()) else {
            BIO_free(readBIO)
            SSL_free(ssl)
            throw TLSError(.invalidState, "cannot create a TLS write buffer: out of memory")
        }
        // An empty read BIO means "more to come", not end of file.
        swiftmta_BIO_set_mem_eof_return(readBIO, -1)
        swiftmta_BIO_set_mem_eof_return(writeBIO, -1)
        // The SSL object owns both BIOs from here on and frees them with itself.
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.context = context
        self.role = role
        self.clientCertificatePolicy = clientCertificates
    }

    deinit {
        SSL_free(ssl)
    }

    private func configureClient(serverName: String?, verification: TLSPeerVerification) throws {
        if let serverName, Self.isHostName(serverName) {
            guard swiftmta_SSL_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw TLSError(.invalidState, "server name \"\(serverName)\" cannot be sent as SNI: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
        }
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        switch verification {
        case .none:
            // OpenSSL still verifies the chain and records the result for the facts.
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
        case .certificateAuthority:
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        case .certificateAuthorityAndHostName(let names):
            guard !names.isEmpty else {
                throw TLSError(.invalidState, "host-name verification needs at least one host name")
            }
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
            for (index, name) in names.enumerated() {
                let added = index == 0 ? SSL_set1_host(ssl, name) : SSL_add1_host(ssl, name)
                guard added == 1 else {
                    throw TLSError(.invalidState, "host name \"\(name)\" cannot be verified: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
                }
            }
        case .dane(let records, let hostNames):
            try configureDANE(records: records, hostNames: hostNames, serverName: serverName)
        }
    }

    /// RFC 7672 §3 through OpenSSL's DANE API (`SSL_dane_enable(3)`).
    private func configureDANE(records: [TLSARecord], hostNames: [String], serverName: String?) throws {
        let names = hostNames.isEmpty ? [serverName].compactMap { $0 } : hostNames
        guard let baseDomain = names.first else {
            throw TLSError(.invalidState, "DANE verification needs the TLSA base domain (a host name)")
        }
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        guard SSL_dane_enable(ssl, baseDomain) > 0 else {
            throw TLSError(.invalidState, "DANE cannot be enabled for \(baseDomain): \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
        }
        for name in names.dropFirst() {
            guard SSL_add1_host(ssl, name) == 1 else {
                throw TLSError(.invalidState, "host name \"\(name)\" cannot be verified: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
        }
        // DANE-EE(3) authenticates the key itself: no name checks (RFC 7672 §3.1.1).
        _ = SSL_dane_set_flags(ssl, UInt(DANE_FLAG_NO_DANE_EE_NAMECHECKS))
        if Self.addTLSARecords(records, to: ssl) > 0 {
            dane = .verifying
        } else {
            // RFC 7672 §2.2: a validated RRset without a usable record (only PKIX usages, unknown
            // selectors or matching types, digests of the wrong length) still requires TLS, but
            // without authentication. OpenSSL verifies nothing by DANE without records; the
            // facts report the outcome.
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
            dane = .noUsableRecords
        }
    }

    /// Adds the usable records to a DANE-enabled SSL and returns how many OpenSSL accepted.
    static func addTLSARecords(_ records: [TLSARecord], to ssl: OpaquePointer) -> Int {
        var usable = 0
        for record in records where record.isUsableForSMTP {
            let added = record.data.withUnsafeBufferPointer {
                SSL_dane_tlsa_add(ssl, record.usage.value, record.selector.value, record.matchingType.value, $0.baseAddress, $0.count)
            }
            // 0: unusable (an unknown digest); below 0: malformed (a digest of the wrong length).
            if added > 0 { usable += 1 } else { _ = OpenSSLErrorQueue.drain() }
        }
        return usable
    }

    /// Whether `name` may be sent as SNI: a DNS name, not an address literal (RFC 6066 §3).
    private static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.contains(":") else { return false }
        return !name.allSatisfy { $0 == "." || $0.isNumber }
    }

    // MARK: - Moving bytes

    /// Hands ciphertext from the network to OpenSSL.
    func receive(_ buffer: ByteBuffer) {
        var remaining = buffer
        while remaining.readableBytes > 0 {
            let chunk = min(remaining.readableBytes, Self.maximumChunk)
            let written = remaining.withUnsafeReadableBytes { BIO_write(readBIO, $0.baseAddress, Int32(chunk)) }
            // A memory BIO only fails to grow when memory runs out; the handshake or read then fails.
            guard written > 0 else { return }
            remaining.moveReaderIndex(forwardBy: Int(written))
        }
    }

    /// The ciphertext OpenSSL produced for the network, or `nil` when there is none.
    func takeOutput(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let pending = BIO_ctrl_pending(writeBIO)
        guard pending > 0 else { return nil }
        var buffer = allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { pointer in
            let count = BIO_read(writeBIO, pointer.baseAddress, Int32(min(pointer.count, Int(Int32.max))))
            return max(0, Int(count))
        }
        return buffer
    }

    // MARK: - TLS operations

    func handshake() -> StepResult {
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .incomplete
        default:
            return .failed(handshakeError())
        }
    }

    /// Decrypts what is available into `buffer`.
    func read(into buffer: inout ByteBuffer) -> ReadResult {
        var readBytes = 0
        var result: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { pointer in
            result = SSL_read_ex(ssl, pointer.baseAddress, pointer.count, &readBytes)
            return result == 1 ? readBytes : 0
        }
        if result == 1 { return .data }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .closeNotify
        default:
            let reason = OpenSSLErrorQueue.drainedReason(fallback: "the connection broke")
            return .failed(TLSError(.protocolError, "TLS record from \(peer) refused: \(reason)"))
        }
    }

    /// Encrypts `buffer` whole. A memory BIO grows as needed, so a write never stops half-way.
    func write(_ buffer: ByteBuffer) -> TLSError? {
        guard buffer.readableBytes > 0 else { return nil }
        var written = 0
        let result = buffer.withUnsafeReadableBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) }
        guard result == 1 else {
            let reason = OpenSSLErrorQueue.drainedReason(fallback: "the connection broke")
            return TLSError(.protocolError, "TLS write to \(peer) failed: \(reason)")
        }
        return nil
    }

    /// Sends close_notify (RFC 8446 §6.1).
    func shutdown() -> StepResult {
        let result = SSL_shutdown(ssl)
        if result >= 0 { return result == 1 ? .complete : .incomplete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .incomplete
        default:
            let reason = OpenSSLErrorQueue.drainedReason(fallback: "shutdown failed")
            return .failed(TLSError(.protocolError, "TLS close_notify to \(peer) failed: \(reason)"))
        }
    }

    /// The error for a failed handshake: a verification failure with its X.509 reason, or
    /// OpenSSL's reason.
    private func handshakeError() -> TLSError {
        let verifyResult = SSL_get_verify_result(ssl)
        let lastReason = ERR_GET_REASON(ERR_peek_last_error())
        let reason = OpenSSLErrorQueue.drainedReason(fallback: "the peer closed the connection")
        if lastReason == SSL_R_CERTIFICATE_VERIFY_FAILED, verifyResult != X509_V_OK {
            let x509Reason = String(cString: X509_verify_cert_error_string(verifyResult))
            switch role {
            case .client:
                return TLSError(.verificationFailed, "TLS handshake with \(peer) failed: the server certificate did not verify: \(x509Reason)")
            case .server:
                return TLSError(.verificationFailed, "TLS handshake with \(peer) failed: the client certificate did not verify: \(x509Reason)")
            }
        }
        return TLSError(.handshakeFailed, "TLS handshake with \(peer) failed: \(reason)")
    }

    // MARK: - Facts

    /// What the handshake established; valid once ``handshake()`` returned `.complete`.
    func facts() -> TLSSessionFacts {
        let version = TLSProtocolVersion(negotiated: SSL_version(ssl)) ?? .tls1_2
        var cipherName = "unknown"
        var bits: Int32 = 0
        var algorithmBits: Int32 = 0
        if let cipher = SSL_get_current_cipher(ssl) {
            if let name = SSL_CIPHER_get_name(cipher) { cipherName = String(cString: name) }
            bits = SSL_CIPHER_get_bits(cipher, &algorithmBits)
        }
        let peerCertificate = SSL_get1_peer_certificate(ssl).map { TLSCertificate(OpenSSLCertificate(taking: $0)) }
        let verification: TLSVerificationResult
        if role == .server, clientCertificatePolicy == .none {
            verification = .notRequested
        } else if peerCertificate == nil {
            verification = .noPeerCertificate
        } else {
            let result = SSL_get_verify_result(ssl)
            verification = result == X509_V_OK
                ? .ok
                : .failed(reason: String(cString: X509_verify_cert_error_string(result)))
        }
        let serverName = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
        return TLSSessionFacts(
            protocolVersion: version, cipher: cipherName, cipherBits: Int(bits), cipherAlgorithmBits: Int(algorithmBits),
            peerCertificate: peerCertificate, verification: verification, serverName: serverName,
            dane: daneOutcome())
    }

    private func daneOutcome() -> DANEOutcome? {
        switch dane {
        case .notRequested: return nil
        case .noUsableRecords: return .noUsableRecords
        case .verifying: return Self.matchedTLSARecord(ssl).map(DANEOutcome.authenticated)
        }
    }

    /// The TLSA record OpenSSL's DANE verifier matched, if any (`SSL_get0_dane_tlsa(3)`).
    static func matchedTLSARecord(_ ssl: OpaquePointer) -> TLSARecord? {
        guard SSL_get0_dane_authority(ssl, nil, nil) >= 0 else { return nil }
        var usage: UInt8 = 0
        var selector: UInt8 = 0
        var matchingType: UInt8 = 0
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_get0_dane_tlsa(ssl, &usage, &selector, &matchingType, &data, &length) >= 0, let data else { return nil }
        return TLSARecord(
            usage: .init(usage), selector: .init(selector), matchingType: .init(matchingType),
            data: Array(UnsafeBufferPointer(start: data, count: length)))
    }
}
