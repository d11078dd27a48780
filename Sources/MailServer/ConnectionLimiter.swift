import Synchronization

/// Counts a listener's open connections, in all and per client address, and refuses those over
/// the limits: the server never holds more sessions (tasks, buffers) than the limits allow.
final class ConnectionLimiter: Sendable {
    enum Admission: Equatable {
        case admitted
        case listenerFull
        case clientFull
    }

    private struct State {
        var total = 0
        var perClient: [String: Int] = [:]
    }

    let maximum: Int
    let maximumPerClient: Int
    private let state = Mutex(State())

    init(maximum: Int, maximumPerClient: Int) {
        self.maximum = maximum
        self.maximumPerClient = maximumPerClient
    }

    /// Counts a new connection from `client`, or says which limit it is over (and counts nothing).
    func admit(_ client: String) -> Admission {
        state.withLock { state in
            guard state.total < maximum else { return .listenerFull }
            let current = state.perClient[client, default: 0]
            guard current < maximumPerClient else { return .clientFull }
            state.total += 1
            state.perClient[client] = current + 1
            return .admitted
        }
    }

    /// A connection from `client` that was admitted has closed.
    func release(_ client: String) {
        state.withLock { state in
            state.total -= 1
            let remaining = state.perClient[client, default: 1] - 1
            state.perClient[client] = remaining > 0 ? remaining : nil
        }
    }

    /// Connections open now.
    var openConnections: Int { state.withLock { $0.total } }
}
