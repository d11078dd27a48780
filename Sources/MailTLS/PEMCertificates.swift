#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL
import MailSystem

/// PEM certificates read into OpenSSL objects.
enum PEMCertificates {
    /// Every certificate in a PEM file, in file order; at least one.
    static func load(_ path: String, what: String) throws -> [OpenSSLCertificate] {
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path, limit: TLSConfigurationError.maximumPEMFileSize)
        } catch {
            throw TLSConfigurationError(unreadable: error, what: what)
        }
        return try parse(bytes, origin: path, what: what)
    }

    /// Every certificate in PEM text, in order; at least one. `origin` names the text in errors.
    static func parse(_ bytes: [UInt8], origin: String, what: String) throws -> [OpenSSLCertificate] {
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
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
        var bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path, limit: TLSConfigurationError.maximumPEMFileSize)
        } catch {
            throw TLSConfigurationError(unreadable: error, what: "private key file")
        }
        // The key's bytes are wiped once OpenSSL has parsed them.
        defer { for index in bytes.indices { bytes[index] = 0 } }
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw TLSConfigurationError(.malformedPEM, path: path, message: "cannot buffer private key file \(path)")
        }
        defer { BIO_free(bio) }
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
        let key = secret.withUnsafeMutableBufferPointer { secretBuffer in
            PEM_read_bio_PrivateKey(bio, nil, callback, UnsafeMutableRawPointer(secretBuffer.baseAddress))
        }
        guard let key else {
            let encrypted = Self.contains(bytes, "ENCRYPTED")
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

    private static func contains(_ bytes: [UInt8], _ word: String) -> Bool {
        let needle = Array(word.utf8)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
