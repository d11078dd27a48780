internal import COpenSSL

/// Facts about the OpenSSL library SwiftMTA runs on.
///
/// MailTLS links the system's libssl and libcrypto (OpenSSL 3). Nothing from OpenSSL appears in
/// MailTLS's public API; this type reports which library was loaded, for logs and `--version`.
public enum OpenSSLLibrary {
    /// The version text of the OpenSSL library loaded at run time, for example
    /// `OpenSSL 3.0.19 27 Jan 2026`.
    public static var version: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "OpenSSL (unknown version)" }
        return String(cString: text)
    }

    /// The numeric version of the loaded library (`0xMNN00PP0L`, see `OpenSSL_version_num(3)`).
    public static var versionNumber: UInt {
        UInt(OpenSSL_version_num())
    }
}
