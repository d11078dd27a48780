import MailSystem

extension TLSConfigurationError {
    /// The largest PEM file read: a certificate chain or a key is a few kilobytes, a CA bundle a
    /// few hundred; anything larger is refused rather than read into memory.
    static let maximumPEMFileSize = 16 * 1024 * 1024

    /// A PEM file that could not be read: `certificate file /etc/mail/certs/x.pem: cannot open: No
    /// such file or directory`.
    init(unreadable error: BoundedFileError, what: String) {
        self.init(.unreadableFile, path: error.path, message: "\(what) \(error)")
    }
}
