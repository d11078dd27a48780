import Logging
import MailAuth
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The users of a password file, read again when the file changes: `swiftmta auth add` takes
/// effect on a running server at the next AUTH, without a restart.
///
/// Each lookup checks the file's identity (device, inode, size, modification time) with one
/// `stat` on NIO's blocking-I/O pool, and reads it again only when that changed. A file that
/// cannot be read or parsed then keeps the users read before (the error is logged once), so an
/// edit in progress never locks everyone out.
final class PasswordFileUsers: SASLCredentialVerifier {
    private struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var seconds: Int
        var nanoseconds: Int
    }

    private struct State {
        var identity: Identity?
        var users: SASLPasswordFile
        var reportedFailure: Identity?
    }

    let path: String
    private let state: Mutex<State>
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Reads the file now (at start-up: a blocking read).
    init(path: String, threadPool: NIOThreadPool = .singleton, logger: Logger) throws(SASLError) {
        self.path = path
        self.threadPool = threadPool
        self.logger = logger
        let identity = Self.identity(of: path)
        state = Mutex(State(identity: identity, users: try SASLPasswordFile(path: path)))
    }

    /// The number of users read.
    var count: Int { state.withLock { $0.users.count } }

    func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
        let users = try await threadPool.runIfActive { [self] in
            let current = Self.identity(of: path)
            let (known, reported) = state.withLock { ($0.identity, $0.reportedFailure) }
            guard current != known, current != reported else { return state.withLock { $0.users } }
            do {
                let reread = try SASLPasswordFile(path: path)
                return state.withLock { state in
                    state.identity = current
                    state.users = reread
                    state.reportedFailure = nil
                    return reread
                }
            } catch {
                logger.error("\(path): cannot read the changed password file, keeping the users read before: \(error)")
                return state.withLock { state in
                    state.reportedFailure = current
                    return state.users
                }
            }
        }
        return try await users.credentials(for: authenticationIdentity)
    }

    private static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
    }
}
