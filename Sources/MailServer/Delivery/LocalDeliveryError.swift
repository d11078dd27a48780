public import SMTPProtocol

/// Why a message could not be stored in a local mailbox, in the terms a delivery status
/// notification needs: temporary or permanent, an enhanced status code (RFC 3463), and a text that
/// names the mailbox and the system's reason.
public struct LocalDeliveryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Whether a later attempt may succeed (a full disk, a held lock, an I/O error) or not (a mailbox
    /// path that is not a directory or not a regular file).
    public let isTemporary: Bool
    /// The status for the DSN: `4.2.2` mailbox full, `4.3.0` system error, `4.2.0` mailbox busy,
    /// `5.2.0`/`5.3.0` for what will not change.
    public let status: EnhancedStatusCode
    /// What went wrong, with the path.
    public let message: String

    /// A failure, temporary (the runner tries again) or permanent (a bounce), with its RFC 3463 code.
    public init(isTemporary: Bool, status: EnhancedStatusCode, message: String) {
        self.isTemporary = isTemporary
        self.status = status
        self.message = message
    }

    public var description: String { "\(status) \(message)" }

    /// The error for a failed system call on `path`, classified by `errno`.
    static func system(_ operation: String, path: String, errno code: Int32) -> LocalDeliveryError {
        let reason = LocalDeliveryError.reason(code)
        let text = "\(operation) \(path): \(reason)"
        switch code {
        case ENOSPC, EDQUOT:
            return LocalDeliveryError(isTemporary: true, status: EnhancedStatusCode(4, 2, 2)!, message: text)
        case ENOTDIR, EISDIR, ELOOP, ENAMETOOLONG:
            return LocalDeliveryError(isTemporary: false, status: EnhancedStatusCode(5, 2, 0)!, message: text)
        default:
            // EACCES, EIO, EROFS, EMFILE and the rest: the administrator can fix them; keep the mail.
            return LocalDeliveryError(isTemporary: true, status: EnhancedStatusCode(4, 3, 0)!, message: text)
        }
    }

    static func reason(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
