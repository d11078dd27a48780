import Synchronization

/// When each message is attempted: at once when it is submitted, later when it was deferred; never
/// two attempts of one message at a time; at most `limit` attempts at once, the others waiting in
/// arrival order.
///
/// The dispatcher (``QueueRunner/run()``) reads the ids to start from ``start()``'s stream and
/// reports each attempt's end with ``finished(_:next:)``.
final class RunnerScheduler: Sendable {
    private struct State {
        var continuation: AsyncStream<QueueID>.Continuation?
        var stopped = false
        /// Messages being attempted now.
        var active: Set<QueueID> = []
        /// Submitted while being attempted: attempt again when done.
        var again: Set<QueueID> = []
        /// Waiting for a free slot, in order.
        var ready: [QueueID] = []
        var readyHead = 0
        var queued: Set<QueueID> = []
        var running = 0
        /// Deferred messages by the time they come due.
        var timers = TimerHeap()
        var scheduledAt: [QueueID: QueueTimestamp] = [:]
        /// The timer loop, waiting for a timer earlier than `threshold` to be set.
        var timerWaiter: (threshold: QueueTimestamp, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// The stream of ids to attempt.
    func start() -> AsyncStream<QueueID> {
        let (stream, continuation) = AsyncStream<QueueID>.makeStream()
        let stopped = state.withLock { state -> Bool in
            state.continuation = continuation
            return state.stopped
        }
        if stopped { continuation.finish() }
        return stream
    }

    /// Ends the stream: nothing more is started.
    func stop() {
        let (continuation, waiter) = state.withLock { state -> (AsyncStream<QueueID>.Continuation?, CheckedContinuation<Void, Never>?) in
            state.stopped = true
            defer {
                state.continuation = nil
                state.timerWaiter = nil
            }
            return (state.continuation, state.timerWaiter?.continuation)
        }
        continuation?.finish()
        waiter?.resume()
    }

    /// Attempt `id` as soon as a slot is free.
    func submit(_ id: QueueID) {
        let start: QueueID? = state.withLock { state in
            guard !state.stopped else { return nil }
            if state.active.contains(id) {
                state.again.insert(id)
                return nil
            }
            if state.running < limit, state.continuation != nil {
                state.running += 1
                state.active.insert(id)
                state.scheduledAt[id] = nil
                return id
            }
            if state.queued.insert(id).inserted { state.ready.append(id) }
            return nil
        }
        if let start { state.withLock { $0.continuation }?.yield(start) }
    }

    /// Attempt `id` at `time` (now or earlier: as soon as a slot is free).
    func schedule(_ id: QueueID, at time: QueueTimestamp) {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let existing = state.scheduledAt[id], existing <= time { return nil }
            state.scheduledAt[id] = time
            state.timers.insert(time, id)
            return Self.takeWaiter(&state, for: time)
        }?.resume()
    }

    /// The timer loop's continuation, when `time` is earlier than what it waits for.
    private static func takeWaiter(_ state: inout State, for time: QueueTimestamp) -> CheckedContinuation<Void, Never>? {
        guard let waiter = state.timerWaiter, time < waiter.threshold else { return nil }
        state.timerWaiter = nil
        return waiter.continuation
    }

    /// Returns when a timer earlier than `threshold` is set, or the task is cancelled.
    func waitForTimer(earlierThan threshold: QueueTimestamp) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if Task.isCancelled || state.stopped { return true }
                    if let earliest = state.timers.peek()?.0, earliest < threshold { return true }
                    state.timerWaiter?.continuation.resume()
                    state.timerWaiter = (threshold, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.timerWaiter = nil }
                return state.timerWaiter?.continuation
            }
            waiter?.resume()
        }
    }

    /// The earliest time a deferred message comes due.
    func earliest() -> QueueTimestamp? {
        state.withLock { state in
            while let top = state.timers.peek(), state.scheduledAt[top.1] != top.0 { _ = state.timers.pop() }
            return state.timers.peek()?.0
        }
    }

    /// The messages due at `now`, taken off the timers.
    func due(at now: QueueTimestamp) -> [QueueID] {
        state.withLock { state in
            var due: [QueueID] = []
            while let top = state.timers.peek(), top.0 <= now {
                _ = state.timers.pop()
                if state.scheduledAt[top.1] == top.0 {
                    state.scheduledAt[top.1] = nil
                    due.append(top.1)
                }
            }
            return due
        }
    }

    /// For a queue run: marks `id` active unless it is already; `false` when it is.
    func claim(_ id: QueueID) -> Bool {
        state.withLock { state in
            guard !state.active.contains(id) else { return false }
            state.active.insert(id)
            state.running += 1
            return true
        }
    }

    /// An attempt of `id` ended; `next` is when to try it again (`nil`: it is gone or waits for no
    /// time). Starts what waits for the slot.
    func finished(_ id: QueueID, next: QueueTimestamp?, reschedules: Bool = true) {
        var starts: [QueueID] = []
        var waiter: CheckedContinuation<Void, Never>?
        let continuation: AsyncStream<QueueID>.Continuation? = state.withLock { state in
            state.active.remove(id)
            state.running -= 1
            if state.again.remove(id) != nil, !state.stopped {
                if state.queued.insert(id).inserted { state.ready.append(id) }
            } else if let next, reschedules {
                if let existing = state.scheduledAt[id], existing <= next {} else {
                    state.scheduledAt[id] = next
                    state.timers.insert(next, id)
                    waiter = Self.takeWaiter(&state, for: next)
                }
            }
            guard !state.stopped, state.continuation != nil else { return nil }
            while state.running < limit, state.readyHead < state.ready.count {
                let candidate = state.ready[state.readyHead]
                state.readyHead += 1
                state.queued.remove(candidate)
                guard !state.active.contains(candidate) else {
                    state.again.insert(candidate)
                    continue
                }
                state.running += 1
                state.active.insert(candidate)
                state.scheduledAt[candidate] = nil
                starts.append(candidate)
            }
            if state.readyHead > 1024, state.readyHead * 2 > state.ready.count {
                state.ready.removeFirst(state.readyHead)
                state.readyHead = 0
            }
            return state.continuation
        }
        waiter?.resume()
        for start in starts { continuation?.yield(start) }
    }
}

/// A binary min-heap of (time, id).
struct TimerHeap {
    private var items: [(QueueTimestamp, QueueID)] = []

    mutating func insert(_ time: QueueTimestamp, _ id: QueueID) {
        items.append((time, id))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].0 < items[parent].0 else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    func peek() -> (QueueTimestamp, QueueID)? { items.first }

    mutating func pop() -> (QueueTimestamp, QueueID)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = parent * 2 + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].0 < items[smallest].0 { smallest = left }
            if right < items.count, items[right].0 < items[smallest].0 { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
