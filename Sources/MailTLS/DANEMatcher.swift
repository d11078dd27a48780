internal import COpenSSL

/// Matches a certificate chain against TLSA records (RFC 6698, RFC 7672 §3) through OpenSSL's DANE
/// verifier, outside any handshake: to check a server's certificate file against its published
/// records before a rollover, or to test records.
///
/// Handshakes do the same through ``TLSPeerVerification/dane(records:hostNames:)``.
///
/// ```swift
/// let chain = try TLSCertificate.load(pemFile: "/etc/mail/certs/sendmail.crt")
/// let record = try TLSARecord(presentation: "3 1 1 8cb0…")
/// switch try DANEMatcher.match(chain: chain, records: [record], hostNames: ["mx.example.com"]) {
/// case .authenticated(let matched): print("matched \(matched)")
/// case .noUsableRecords: print("no usable record: TLS without authentication")
/// }
/// ```
public enum DANEMatcher {
    /// What the records say about `chain` (leaf first, then the certificates the server sends).
    ///
    /// DANE-EE(3) records match the leaf with no name or expiry check; DANE-TA(2) records match a
    /// certificate of the chain, which must then validate from it to the leaf, and the leaf must
    /// name one of `hostNames` (the TLSA base domain first, RFC 7672 §3.2.2). PKIX usages (0, 1) are
    /// skipped as unusable in SMTP (RFC 7672 §3.1.3); when no record is usable the outcome is
    /// ``DANEOutcome/noUsableRecords`` (RFC 7672 §2.2), not an error.
    ///
    /// - Throws: ``TLSError`` of kind ``TLSError/Kind-swift.struct/verificationFailed`` with
    ///   OpenSSL's reason when usable records exist and none matches, or of kind
    ///   ``TLSError/Kind-swift.struct/invalidState`` when `chain` or `hostNames` is empty.
    @discardableResult
    public static func match(chain: [TLSCertificate], records: [TLSARecord], hostNames: [String]) throws -> DANEOutcome {
        guard let leaf = chain.first else {
            throw TLSError(.invalidState, "DANE matching needs at least one certificate")
        }
        guard let baseDomain = hostNames.first else {
            throw TLSError(.invalidState, "DANE matching needs the TLSA base domain (a host name)")
        }
        let context = try OpenSSLContext(configuration: TLSConfiguration(), side: .client)
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError(.invalidState, "cannot create a DANE verifier: \(OpenSSLErrorQueue.drainedReason(fallback: "out of memory"))")
        }
        defer { SSL_free(ssl) }
        guard SSL_dane_enable(ssl, baseDomain) > 0 else {
            throw TLSError(.invalidState, "DANE cannot be enabled for \(baseDomain): \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
        }
        for name in hostNames.dropFirst() {
            guard SSL_add1_host(ssl, name) == 1 else {
                throw TLSError(.invalidState, "host name \"\(name)\" cannot be verified: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
        }
        _ = SSL_dane_set_flags(ssl, UInt(DANE_FLAG_NO_DANE_EE_NAMECHECKS))
        guard TLSConnection.addTLSARecords(records, to: ssl) > 0 else {
            return .noUsableRecords
        }

        // Neither sk_X509_push nor X509_STORE_CTX_init takes a reference: the OpenSSL objects must
        // stay alive until verification is over, so everything below runs inside their lifetime.
        let certificates = try chain.map { try $0.makeOpenSSLCertificate() }
        let record: TLSARecord? = try withExtendedLifetime(certificates) { () throws -> TLSARecord? in
            guard let untrusted = swiftmta_sk_X509_new_null() else {
                throw TLSError(.invalidState, "cannot create a certificate stack: out of memory")
            }
            defer { swiftmta_sk_X509_free(untrusted) }
            for certificate in certificates.dropFirst() {
                guard swiftmta_sk_X509_push(untrusted, certificate.pointer) > 0 else {
                    throw TLSError(.invalidState, "cannot create a certificate stack: out of memory")
                }
            }
            guard let store = X509_STORE_new() else {
                throw TLSError(.invalidState, "cannot create a certificate store: out of memory")
            }
            defer { X509_STORE_free(store) }
            guard let storeContext = X509_STORE_CTX_new() else {
                throw TLSError(.invalidState, "cannot create a verification context: out of memory")
            }
            defer { X509_STORE_CTX_free(storeContext) }
            guard X509_STORE_CTX_init(storeContext, store, certificates[0].pointer, untrusted) == 1 else {
                throw TLSError(.invalidState, "cannot start verification: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
            // As OpenSSL verifies a server's chain in a handshake: the server purpose, the SSL's
            // parameters (host names), and its DANE state.
            _ = X509_STORE_CTX_set_default(storeContext, "ssl_server")
            _ = X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(storeContext), SSL_get0_param(ssl))
            X509_STORE_CTX_set0_dane(storeContext, SSL_get0_dane(ssl))
            let verified = X509_verify_cert(storeContext)
            let error = X509_STORE_CTX_get_error(storeContext)
            _ = OpenSSLErrorQueue.drain()
            guard verified == 1, error == X509_V_OK else {
                let reason = String(cString: X509_verify_cert_error_string(Int(error)))
                throw TLSError(.verificationFailed, "certificate \(leaf.subject) does not match the TLSA records for \(baseDomain): \(reason)")
            }
            return TLSConnection.matchedTLSARecord(ssl)
        }
        guard let record else {
            throw TLSError(.verificationFailed, "certificate \(leaf.subject) verified but OpenSSL names no matching TLSA record")
        }
        return .authenticated(record)
    }
}
