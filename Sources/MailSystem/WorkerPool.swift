#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Threads of their own for work that blocks — a Berkeley DB read, an LDAP search, a DNS query
/// through the libc resolver, a libsasl2 call that waits on saslauthd or PAM, PBKDF2 — so that
/// neither a SwiftNIO event loop nor one of Swift's few cooperative threads ever waits on it.
///
/// Every bound is explicit (``Configuration``): a fixed number of threads, a bounded queue, and a
/// deadline per call. The caller of ``run(deadline:_:)`` suspends and never blocks; when the queue
/// is full, or the call is not answered by its deadline, or the pool was shut down, the caller gets
/// a ``WorkerPoolError`` at once — a temporary failure, which an SMTP server answers with
/// `451 4.3.0` — rather than waiting behind a backend that hangs. A call that is late while
/// running keeps its thread until the blocking function returns (a thread cannot be interrupted);
/// its result is then dropped. That is why each backend that can hang gets a pool of its own: a
/// hung LDAP server can occupy the LDAP pool's threads, never the threads file maps need.
///
/// The pool is also a `TaskExecutor` (SE-0417): a task that prefers it
/// (`withTaskExecutorPreference(pool) { … }`) runs on its threads, and then ``run(deadline:_:)``
/// runs the work at once, on the same thread, with no hop — a whole routing decision of many map
/// lookups costs one thread switch, not one per lookup. Jobs of such tasks are never refused
/// (they are not counted against ``Configuration/queueLimit`` and have no deadline).
///
/// Threads start on first use. ``shutdown()`` fails what waits, lets what runs finish, and joins
/// every thread; calls after it fail with ``WorkerPoolError/Kind/shutDown``. A pool made for a
/// while (a test, a command) must be shut down; the pools modules keep as static defaults live as
/// long as the process.
public final class WorkerPool: TaskExecutor, @unchecked Sendable {
    /// The pool's bounds, as given (threads and queue limit at least one).
    public let configuration: Configuration

    private enum State {
        case notStarted
        case started
        case stopping
        case stopped
    }

    private enum Entry {
        case call(PoolCall)
        case task(UnownedJob)
    }

    private let lock = PoolLock()
    private let defaultDeadline: UInt64
    // Guarded by `lock`.
    private var state = State.notStarted
    private var queue: [Entry?] = []
    private var head = 0
    private var queuedCalls = 0
    private var busyWorkers = 0
    private var refusedFull = 0
    private var answeredLate = 0
    private var running: [PoolCall?]
    private var threads: [pthread_t] = []
    private var watcherWakesAt = UInt64.max

    /// A pool bounded by `configuration`; no thread starts until the first call.
    public init(_ configuration: Configuration) {
        var configuration = configuration
        configuration.threads = max(1, configuration.threads)
        configuration.queueLimit = max(1, configuration.queueLimit)
        self.configuration = configuration
        self.defaultDeadline = Self.nanoseconds(configuration.deadline)
        self.running = Array(repeating: nil, count: configuration.threads)
    }

    /// The pool's name, for messages.
    public var name: String { configuration.name }

    /// Whether the calling thread is one of this pool's threads.
    public var isCurrentThreadInPool: Bool {
        guard let marker = pthread_getspecific(Self.threadKey) else { return false }
        return marker == Unmanaged.passUnretained(self).toOpaque()
    }

    /// What the pool is doing now, and how many calls it refused or answered late since it was
    /// made: for the server's metrics (pool saturation).
    package var load: WorkerPoolLoad {
        lock.lock()
        defer { lock.unlock() }
        return WorkerPoolLoad(
            threads: configuration.threads, busyThreads: busyWorkers, queuedCalls: queuedCalls,
            queueLimit: configuration.queueLimit, refusedFull: refusedFull, answeredLate: answeredLate)
    }

    /// Runs `body` on one of the pool's threads and returns what it returned; runs it at once
    /// when the caller already is on one of them.
    ///
    /// - Parameter deadline: how long this call may take, waiting and running;
    ///   ``Configuration/deadline`` when `nil`.
    /// - Throws: ``WorkerPoolError`` when the queue is full, the call is late, or the pool is shut
    ///   down; never blocks the caller.
    public func run<T: Sendable>(
        deadline: Duration? = nil, _ body: @escaping @Sendable () -> T
    ) async throws(WorkerPoolError) -> T {
        try await run(deadline: deadline, { () throws(WorkerPoolError) -> T in body() }, whenUnavailable: { $0 })
    }

    /// Runs `body`, which throws `Failure`, on one of the pool's threads; when the pool cannot
    /// answer, the caller gets `whenUnavailable`'s error for the ``WorkerPoolError`` (a map's
    /// "temporarily unavailable", a SASL temporary failure).
    ///
    /// - Parameter deadline: how long this call may take, waiting and running;
    ///   ``Configuration/deadline`` when `nil`.
    public func run<T: Sendable, Failure: Error>(
        deadline: Duration? = nil,
        _ body: @escaping @Sendable () throws(Failure) -> T,
        whenUnavailable: @escaping @Sendable (WorkerPoolError) -> Failure
    ) async throws(Failure) -> T {
        if isCurrentThreadInPool { return try body() }
        let limit = deadline.map(Self.nanoseconds) ?? defaultDeadline
        let result: Result<T, Failure> = await withUnsafeContinuation { continuation in
            let call = TypedCall(
                deadline: PoolLock.now &+ limit, limit: limit, body: body, whenUnavailable: whenUnavailable,
                continuation: continuation)
            if let refusal = submit(call) { call.fail(refusal) }
        }
        return try result.get()
    }

    /// Runs a task's job on one of the pool's threads (SE-0417 task executor preference). After
    /// ``shutdown()`` the job runs on Swift's global concurrent executor instead, so a task that
    /// prefers a stopped pool still finishes (its calls to ``run(deadline:_:)`` then fail).
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.lock()
        switch state {
        case .notStarted:
            guard startThreads() else {
                lock.unlock()
                globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
                return
            }
        case .started:
            break
        case .stopping, .stopped:
            lock.unlock()
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
            return
        }
        queue.append(.task(unowned))
        lock.signalWork()
        lock.unlock()
    }

    /// Stops the pool: calls still waiting fail with ``WorkerPoolError/Kind/shutDown``, calls
    /// running finish (a late one's caller is told at its deadline), queued jobs of tasks run, and
    /// then every thread of the pool is joined before this returns. Later calls fail with
    /// ``WorkerPoolError/Kind/shutDown``.
    ///
    /// Blocks until the running calls return: each is bounded by its backend's own timeout (an
    /// LDAP or resolver timeout), so call it at the end, off an event loop.
    public func shutdown() {
        lock.lock()
        switch state {
        case .notStarted:
            state = .stopped
            lock.unlock()
            return
        case .stopping, .stopped:
            lock.unlock()
            return
        case .started:
            break
        }
        state = .stopping
        var refused: [PoolCall] = []
        var kept: [Entry?] = []
        for case let entry? in queue[head...] {
            switch entry {
            case .call(let call):
                call.isFinished = true
                refused.append(call)
            case .task:
                kept.append(entry)
            }
        }
        queue = kept
        head = 0
        queuedCalls = 0
        let joining = threads
        threads = []
        lock.broadcastWork()
        lock.signalDeadlines()
        lock.unlock()

        let error = WorkerPoolError(.shutDown, pool: name, message: "worker pool \(name) was shut down")
        for call in refused { call.fail(error) }
        let current = pthread_self()
        for thread in joining {
            if pthread_equal(thread, current) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
        lock.lock()
        state = .stopped
        lock.unlock()
    }

    // MARK: Submitting

    /// Queues `call`, or says why not. Called without the lock.
    private func submit(_ call: PoolCall) -> WorkerPoolError? {
        lock.lock()
        switch state {
        case .notStarted:
            guard startThreads() else {
                lock.unlock()
                return WorkerPoolError(.noThreads, pool: name, message: "worker pool \(name): the system would not start a thread")
            }
        case .started:
            break
        case .stopping, .stopped:
            lock.unlock()
            return WorkerPoolError(.shutDown, pool: name, message: "worker pool \(name) is shut down")
        }
        // Calls a thread will take at once (idle threads, or threads still starting) do not wait:
        // the queue limit counts only the calls beyond them.
        guard queuedCalls < configuration.queueLimit + configuration.threads - busyWorkers else {
            refusedFull += 1
            lock.unlock()
            return WorkerPoolError(.queueFull, pool: name,
                message: "worker pool \(name) is full: \(configuration.queueLimit) calls wait for its \(configuration.threads) threads")
        }
        queue.append(.call(call))
        queuedCalls += 1
        lock.signalWork()
        if call.deadline < watcherWakesAt { lock.signalDeadlines() }
        lock.unlock()
        return nil
    }

    /// Starts the workers and the watcher; `false` when not even one worker started. Called with
    /// the lock held, in state `notStarted`.
    private func startThreads() -> Bool {
        for index in 0..<configuration.threads {
            if let thread = Self.spawn(name: name, { self.workerLoop(index: index) }) { threads.append(thread) }
        }
        guard !threads.isEmpty else { return false }
        guard let watcher = Self.spawn(name: name, { self.watcherLoop() }) else {
            // Without a watcher no deadline fires: stop the workers again.
            state = .stopping
            let started = threads
            threads = []
            lock.broadcastWork()
            lock.unlock()
            for thread in started { pthread_join(thread, nil) }
            lock.lock()
            state = .notStarted
            return false
        }
        threads.append(watcher)
        state = .started
        return true
    }

    // MARK: The threads

    private func workerLoop(index: Int) {
        pthread_setspecific(Self.threadKey, Unmanaged.passUnretained(self).toOpaque())
        lock.lock()
        while true {
            while head == queue.count && state == .started { lock.waitForWork() }
            guard head < queue.count else {
                // Stopping, and no task job left: the watcher may be waiting for this call's end.
                lock.signalDeadlines()
                break
            }
            let entry = queue[head].take()
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            switch entry {
            case nil:
                continue
            case .task(let job)?:
                busyWorkers += 1
                lock.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
                lock.lock()
                busyWorkers -= 1
            case .call(let call)?:
                queuedCalls -= 1
                guard !call.isFinished else { continue }
                running[index] = call
                busyWorkers += 1
                lock.unlock()
                call.execute()
                lock.lock()
                busyWorkers -= 1
                running[index] = nil
                guard !call.isFinished else { continue }  // late: its caller was answered
                call.isFinished = true
                lock.unlock()
                call.deliver()
                lock.lock()
            }
        }
        lock.unlock()
    }

    /// Fails the calls whose deadline passed, queued or running, and sleeps until the next one.
    /// With nothing to watch it wakes once per default deadline, so that a call with the default
    /// deadline never needs to wake it.
    private func watcherLoop() {
        lock.lock()
        while true {
            let now = PoolLock.now
            var late: [PoolCall] = []
            var next = now &+ defaultDeadline
            var watching = false
            if queuedCalls > 0 {
                var kept: [Entry?] = []
                kept.reserveCapacity(queue.count - head)
                for case let entry? in queue[head...] {
                    switch entry {
                    case .call(let call) where call.deadline <= now:
                        call.isFinished = true
                        late.append(call)
                        queuedCalls -= 1
                    case .call(let call):
                        next = min(next, call.deadline)
                        watching = true
                        kept.append(entry)
                    case .task:
                        kept.append(entry)
                    }
                }
                if !late.isEmpty {
                    queue = kept
                    head = 0
                }
            }
            for slot in running.indices {
                guard let call = running[slot], !call.isFinished else { continue }
                if call.deadline <= now {
                    call.isFinished = true
                    late.append(call)
                } else {
                    next = min(next, call.deadline)
                    watching = true
                }
            }
            if !late.isEmpty {
                answeredLate += late.count
                lock.unlock()
                for call in late {
                    call.fail(WorkerPoolError(.deadlineExceeded, pool: name,
                        message: "worker pool \(name): no answer within \(Self.seconds(call.limit)) s"))
                }
                lock.lock()
                continue
            }
            switch state {
            case .notStarted, .started:
                break
            case .stopping, .stopped:
                if !watching {
                    lock.unlock()
                    return
                }
            }
            watcherWakesAt = next
            lock.waitForDeadlines(until: next)
            watcherWakesAt = .max
        }
    }

    // MARK: Helpers

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let whole = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !whole.overflow else { return UInt64.max / 2 }
        return min(whole.partialValue &+ UInt64(max(0, attoseconds) / 1_000_000_000), UInt64.max / 2)
    }

    private static func seconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000_000) / 100_000_000
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    /// Starts a thread named `name` running `body`; `nil` when the system refuses.
    private static func spawn(name: String, _ body: @escaping () -> Void) -> pthread_t? {
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let status = pthread_create(&thread, nil, { raw in
            #if canImport(Darwin)
            let start = Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue()
            #else
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            #endif
            start.run()
            return nil
        }, start)
        guard status == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(start).release()
            return nil
        }
        #if canImport(Darwin)
        return thread
        #else
        return thread
        #endif
    }

    /// Marks the threads of every pool with their pool, for ``isCurrentThreadInPool``.
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// What a new thread runs, with the name it takes.
private final class ThreadStart {
    let name: String
    let body: () -> Void

    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    func run() {
        // Linux allows 15 bytes; the name is cut on a character boundary.
        var short = ""
        for character in name where short.utf8.count + String(character).utf8.count <= 15 { short.append(character) }
        #if canImport(Darwin)
        pthread_setname_np(short)
        #else
        // pthread_setname_np is not in Swift's Glibc module; the kernel takes the name here.
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = short.utf8CString.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count - 1) }
            close(descriptor)
        }
        #endif
        body()
    }
}
