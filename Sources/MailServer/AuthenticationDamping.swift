import MailAuth
import Synchronization

/// MailAuth's brute-force damping shared by every session of a server: failures are counted per
/// client address across connections, so that reconnecting does not reset the delay.
final class AuthenticationDamping: Sendable {
    private let damping: Mutex<SASLFailureDamping>

    init(configuration: SASLFailureDamping.Configuration) {
        damping = Mutex(SASLFailureDamping(configuration: configuration))
    }

    /// Records a failure and returns how long to wait before answering it.
    func failure(client: String) -> Duration {
        damping.withLock { $0.recordFailure(client: client, now: .now) }
    }

    /// Forgets the client's failures after it authenticated.
    func success(client: String) {
        damping.withLock { $0.recordSuccess(client: client) }
    }
}
