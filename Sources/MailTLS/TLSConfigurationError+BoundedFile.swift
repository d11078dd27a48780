import MailSystem

extension TLSConfigurationError {
    /// A PEM file that could not be read: `certificate file /etc/mail/certs/x.pem: cannot open: No
    /// such file or directory`.
    init(unreadable error: BoundedFileError, what: String) {
        self.init(.unreadableFile, path: error.path, message: "\(what) \(error)")
    }
}
