internal import COpenSSL

/// Owns one OpenSSL `X509*` and frees it in `deinit`.
final class OpenSSLCertificate {
    let pointer: OpaquePointer

    /// Takes ownership of a certificate OpenSSL handed out with a reference for the caller.
    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Shares a certificate that something else owns, taking a reference of its own.
    init(retaining pointer: OpaquePointer) {
        X509_up_ref(pointer)
        self.pointer = pointer
    }

    deinit {
        X509_free(pointer)
    }

    /// The subject name in OpenSSL's one-line form, as Sendmail logs it (`/CN=mx.example.test`).
    var subject: String {
        Self.oneLine(X509_get_subject_name(pointer))
    }

    /// The issuer name in OpenSSL's one-line form.
    var issuer: String {
        Self.oneLine(X509_get_issuer_name(pointer))
    }

    /// The DER encoding (RFC 5280 §4.1).
    var der: [UInt8] {
        let length = i2d_X509(pointer, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(pointer, &cursor)
        }
        return bytes
    }

    /// The certificate's digest with `digest` (`EVP_sha256()`), over its DER encoding.
    func fingerprint(_ digest: OpaquePointer?) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(pointer, digest, &output, &length) == 1 else {
            _ = OpenSSLErrorQueue.drain()
            return []
        }
        return Array(output.prefix(Int(length)))
    }

    /// Whether the validity period ended before now (RFC 5280 §4.1.2.5).
    var hasExpired: Bool {
        guard let notAfter = X509_get0_notAfter(pointer) else { return false }
        return X509_cmp_current_time(notAfter) < 0
    }

    /// Whether the validity period starts after now.
    var isNotYetValid: Bool {
        guard let notBefore = X509_get0_notBefore(pointer) else { return false }
        return X509_cmp_current_time(notBefore) > 0
    }

    /// The end of the validity period as OpenSSL prints it (`Nov 21 05:00:23 2026 GMT`).
    var notAfterText: String {
        Self.timeText(X509_get0_notAfter(pointer))
    }

    /// The start of the validity period as OpenSSL prints it.
    var notBeforeText: String {
        Self.timeText(X509_get0_notBefore(pointer))
    }

    /// The size of the public key in bits and its algorithm (`RSA`, `EC`, `ED25519`).
    var publicKeyDescription: (bits: Int, algorithm: String) {
        guard let key = X509_get0_pubkey(pointer) else { return (0, "unknown") }
        let name = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
        return (Int(EVP_PKEY_get_bits(key)), name)
    }

    static func oneLine(_ name: OpaquePointer?) -> String {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return "" }
        defer { swiftmta_OPENSSL_free(text) }
        return String(cString: text)
    }

    static func timeText(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time, let bio = BIO_new(BIO_s_mem()) else { return "unknown time" }
        defer { BIO_free(bio) }
        guard ASN1_TIME_print(bio, time) == 1 else {
            _ = OpenSSLErrorQueue.drain()
            return "unknown time"
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = swiftmta_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "unknown time" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
