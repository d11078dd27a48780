import NIOCore
import Synchronization

/// The server's open connections, so that shutting down can drain and then close them all.
final class ConnectionRegistry: Sendable {
    private struct State {
        var next = 0
        var open: [Int: any Channel] = [:]
        var draining = false
        var closing = false
    }

    private let state = Mutex(State())

    /// Records an open connection; when the server is already closing, closes it at once.
    func add(_ channel: any Channel) -> Int {
        let (token, closing) = state.withLock { state in
            state.next += 1
            state.open[state.next] = channel
            return (state.next, state.closing)
        }
        if closing { channel.close(promise: nil) }
        return token
    }

    /// Forgets a connection whose session ended.
    func remove(_ token: Int) {
        _ = state.withLock { $0.open.removeValue(forKey: token) }
    }

    /// Sessions are asked to end: each answers its next command with 421 (RFC 5321 §3.8).
    func beginDraining() {
        state.withLock { $0.draining = true }
    }

    /// Whether the server is shutting down.
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Sessions still open.
    var count: Int { state.withLock { $0.open.count } }

    /// Closes every open connection, and every one added from now on.
    func closeAll() {
        let channels = state.withLock { state in
            state.closing = true
            state.draining = true
            return Array(state.open.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }
}
