internal import COpenSSL

/// Owns one OpenSSL `EVP_PKEY*` and frees it in `deinit`.
final class OpenSSLPrivateKey {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }
}
