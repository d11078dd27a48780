import Synchronization

/// Records the PBKDF2 derivations run while a task has set one — so that a test can check, without
/// timing anything, that two paths cost the same (an unknown user and a wrong password). Nothing in
/// MailAuth sets one; reading the task-local is all a derivation pays for it.
package final class KeyDerivationMeter: Sendable {
    /// The meter of the current task, or of the pool job a verifier started on its behalf.
    @TaskLocal package static var current: KeyDerivationMeter?

    private let derivations = Mutex<[String]>([])

    package init() {}

    /// One entry per derivation, in order: the PRF and the iteration count (`pbkdf2-sha512×210000`).
    package var recorded: [String] {
        derivations.withLock { $0 }
    }

    func record(_ function: String, iterations: Int) {
        derivations.withLock { $0.append("\(function)×\(iterations)") }
    }
}
