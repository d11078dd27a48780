internal import COpenSSL

/// Owns one OpenSSL `SSL_CTX*` from the moment `SSL_CTX_new` returns it, and frees it in `deinit`.
///
/// ``OpenSSLContext`` configures the context in many steps, any of which may throw; a class whose
/// initialiser throws never runs its own `deinit`, so the pointer is held here from the first line
/// and freed — with the certificate, key and trust store it holds by then — however set-up ends.
final class OpenSSLContextHandle {
    let pointer: OpaquePointer

    /// A new, unconfigured context for `side`.
    init(side: OpenSSLContext.Side) throws(TLSConfigurationError) {
        let method = switch side {
        case .server: TLS_server_method()
        case .client: TLS_client_method()
        }
        guard let pointer = SSL_CTX_new(method) else {
            throw TLSConfigurationError(
                .rejectedSetting, path: nil,
                message: "cannot create a TLS context: \(OpenSSLErrorQueue.drainedReason(fallback: "out of memory"))")
        }
        self.pointer = pointer
    }

    deinit {
        SSL_CTX_free(pointer)
    }
}
