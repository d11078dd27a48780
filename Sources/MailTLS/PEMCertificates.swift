#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL

/// PEM certificates read into OpenSSL objects.
enum PEMCertificates {
    /// Every certificate in a PEM file, in file order; at least one.
    static func load(_ path: String, what: String) throws -> [OpenSSLCertificate] {
        let buffer = try PEMFile.read(path, what: what)
        return try buffer.withUnsafeBytes { try parse($0, origin: path, what: what) }
    }

    /// Every certificate in PEM text, in order; at least one. `origin` names the text in errors.
    static func parse(_ bytes: [UInt8], origin: String, what: String) throws -> [OpenSSLCertificate] {
        try bytes.withUnsafeBytes { try parse($0, origin: origin, what: what) }
    }

    /// Every certificate in `bytes`. The memory BIO reads `bytes` in place, so it lives and dies
    /// inside the caller's `withUnsafeBytes`.
    private static func parse(_ bytes: UnsafeRawBufferPointer, origin: String, what: String) throws -> [OpenSSLCertificate] {
        guard bytes.count <= Int(Int32.max), let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else {
            throw TLSConfigurationError(.malformedPEM, path: origin, message: "cannot buffer \(what) \(origin)")
        }
        defer { BIO_free(bio) }
        var certificates: [OpenSSLCertificate] = []
        _ = OpenSSLErrorQueue.drain()
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
            certificates.append(OpenSSLCertificate(taking: certificate))
        }
        // Reading stops with "no start line" at the end of the file; anything else is a broken object.
        let endOfFile = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE
        let reason = OpenSSLErrorQueue.drainedReason(fallback: "no PEM certificate found")
        if certificates.isEmpty || !endOfFile {
            let detail = certificates.isEmpty
                ? "holds no PEM certificate"
                : "has a malformed certificate after certificate \(certificates.count)"
            throw TLSConfigurationError(.malformedPEM, path: origin, message: "\(what) \(origin) \(detail) (\(reason))")
        }
        return certificates
    }
}

/// A PEM private key, decrypted with a passphrase when it is encrypted.
enum PEMPrivateKey {
    static func load(_ path: String, passphrase: String?) throws -> OpenSSLPrivateKey {
        let buffer = try PEMFile.read(path, what: "private key file")
        // The key's bytes are wiped as soon as OpenSSL has parsed them (and again when freed).
        defer { buffer.wipe() }
        _ = OpenSSLErrorQueue.drain()

        // The passphrase reaches OpenSSL's callback through its user-data pointer: a NUL-terminated
        // copy that is wiped before it is freed.
        var secret = Array((passphrase ?? "").utf8CString)
        defer { for index in secret.indices { secret[index] = 0 } }
        let callback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
            buffer, size, _, userData in
            guard let buffer, let userData else { return 0 }
            let source = userData.assumingMemoryBound(to: CChar.self)
            let length = Int32(strlen(source))
            guard length > 0, length <= size else { return 0 }
            memcpy(buffer, source, Int(length))
            return length
        }
        let key = try buffer.withUnsafeBytes { bytes throws(TLSConfigurationError) -> OpaquePointer? in
            // The BIO reads the buffer in place: it is created and freed inside this closure.
            guard bytes.count <= Int(Int32.max), let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else {
                throw TLSConfigurationError(.malformedPEM, path: path, message: "cannot buffer private key file \(path)")
            }
            defer { BIO_free(bio) }
            return secret.withUnsafeMutableBufferPointer { secretBuffer in
                PEM_read_bio_PrivateKey(bio, nil, callback, UnsafeMutableRawPointer(secretBuffer.baseAddress))
            }
        }
        guard let key else {
            let encrypted = buffer.contains("ENCRYPTED")
            let reason = OpenSSLErrorQueue.drainedReason(fallback: "no PEM private key found")
            if encrypted {
                let what = passphrase == nil ? "no passphrase was given" : "the passphrase is wrong"
                throw TLSConfigurationError(
                    .encryptedKey, path: path, message: "private key file \(path) is encrypted and \(what)")
            }
            throw TLSConfigurationError(
                .malformedPEM, path: path, message: "private key file \(path) holds no usable PEM private key (\(reason))")
        }
        return OpenSSLPrivateKey(taking: key)
    }
}
