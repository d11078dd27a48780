import NIOCore
import Synchronization

/// The connections a listener accepted and wrapped in an async channel, from the moment they
/// are made until a session takes them — so that none is ever dropped unclosed.
///
/// NIO's async server channel can make a child channel and then lose it: one accepted while the
/// listener closes (a shutdown) lands in an accept stream nobody reads any more, and an async
/// channel released without being closed traps ("Deinited NIOAsyncWriter without calling
/// finish()", swift-nio#2637). Here each one is held until the accept loop takes it; when the
/// loops have ended, ``stopAccepting()`` hands back the ones never taken, to be closed, and from
/// then on ``hold(_:)`` refuses new ones (their channel is closed instead).
final class AcceptedConnections: Sendable {
    private struct State {
        var held: [ObjectIdentifier: SMTPServerSession.Connection] = [:]
        var stopped = false
    }

    private let state = Mutex(State())

    /// Keeps `connection` until ``take(_:)``; `false` (and nothing kept) once accepting stopped.
    func hold(_ connection: SMTPServerSession.Connection) -> Bool {
        state.withLock { state in
            guard !state.stopped else { return false }
            state.held[ObjectIdentifier(connection.channel)] = connection
            return true
        }
    }

    /// Whether `connection` was still held (the caller serves it) or was handed back already.
    func take(_ connection: SMTPServerSession.Connection) -> Bool {
        state.withLock { $0.held.removeValue(forKey: ObjectIdentifier(connection.channel)) != nil }
    }

    /// Refuses every connection from now on and returns those never taken.
    func stopAccepting() -> [SMTPServerSession.Connection] {
        state.withLock { state in
            state.stopped = true
            defer { state.held = [:] }
            return Array(state.held.values)
        }
    }

    /// Closes a connection no session will serve (its writer finished, its channel closed).
    static func discard(_ connection: SMTPServerSession.Connection) async {
        try? await connection.executeThenClose { _, _ in }
    }
}
