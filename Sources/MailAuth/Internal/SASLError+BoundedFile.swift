import MailSystem

extension SASLError {
    /// A configuration or credential file that could not be read, named with the reason:
    /// `/etc/swiftmta/passwd: cannot open: No such file or directory`.
    init(unreadable error: BoundedFileError) {
        self.init(.configuration, error.description)
    }
}
