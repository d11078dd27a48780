#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small pool of threads of its own for the lookups that block: Berkeley DB reads, LDAP
/// operations, the libc resolver, reading a map file again after it changed.
///
/// Swift's cooperative pool has one thread per core, and SwiftNIO's event loops must never block;
/// blocking work on either stalls every connection. Maps hand such work to this pool instead and
/// await the answer. The threads start on first use and live as long as the pool.
///
/// Work that already runs on one of the pool's threads runs inline, without a hop: a routing
/// decision that makes many lookups can run as a whole on the pool by preferring it as its task
/// executor (`withTaskExecutorPreference(pool) { … }`, SE-0417), and then pays no thread switch per
/// lookup.
public final class MailMapThreadPool: @unchecked Sendable {
    /// The pool maps use unless they are given another: four threads named `mailmaps`.
    public static let shared = MailMapThreadPool(threads: 4, name: "mailmaps")

    /// How many threads the pool runs.
    public let threadCount: Int
    /// The pool's name, for messages.
    public let name: String

    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private let lock = ConditionLock()
    // Guarded by `lock`: a FIFO queue as an array with a moving head.
    private var queue: [Work?] = []
    private var head = 0
    private var started = false
    private var stopping = false
    private var running = 0

    /// A pool of `threads` threads (at least one), started on first use.
    public init(threads: Int, name: String = "mailmaps") {
        self.threadCount = max(1, threads)
        self.name = name
    }

    /// Whether the calling thread is one of this pool's threads.
    public var isCurrentThreadInPool: Bool {
        guard let marker = pthread_getspecific(Self.threadKey) else { return false }
        return marker == Unmanaged.passUnretained(self).toOpaque()
    }

    /// Runs `body` on one of the pool's threads and returns what it returned; runs it at once when
    /// the caller is already on one of them.
    public func run<T: Sendable, Failure: Error>(
        _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        if isCurrentThreadInPool { return try body() }
        let result: Result<T, Failure> = await withUnsafeContinuation { continuation in
            let work: @Sendable () -> Void = { continuation.resume(returning: Result(catching: body)) }
            // After shutdown nothing would run it: run it here rather than never.
            if !submit(.closure(work)) { work() }
        }
        return try result.get()
    }

    /// Stops the threads once the queued work is done. Work submitted afterwards runs on the
    /// caller's thread; the shared pool is never shut down.
    public func shutdown() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }

    /// Queues `work`; `false` when the pool is shut down.
    @discardableResult
    private func submit(_ work: Work) -> Bool {
        lock.lock()
        if stopping {
            lock.unlock()
            return false
        }
        if !started {
            started = true
            for index in 0..<threadCount { startThread(index) }
        }
        queue.append(work)
        lock.signal()
        lock.unlock()
        return true
    }

    private func startThread(_ index: Int) {
        let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            context.pool.workerLoop(index: context.index)
            return nil
        }, context)
        if status == 0 {
            pthread_detach(thread)
            running += 1
        } else {
            Unmanaged<WorkerContext>.fromOpaque(context).release()
        }
    }

    private func workerLoop(index: Int) {
        pthread_setspecific(Self.threadKey, Unmanaged.passUnretained(self).toOpaque())
        while true {
            lock.lock()
            while head == queue.count && !stopping { lock.wait() }
            if head == queue.count {  // stopping, and nothing left to do
                running -= 1
                lock.unlock()
                return
            }
            let work = queue[head].take()
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            lock.unlock()
            switch work {
            case .closure(let body): body()
            case .job(let job): runJob(job)
            case nil: break
            }
        }
    }

    private func runJob(_ job: UnownedJob) {
        if #available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *) {
            job.runSynchronously(on: asUnownedTaskExecutor())
        } else {
            // Only TaskExecutor (macOS 15 and later) enqueues jobs.
            fatalError("MailMapThreadPool received a job without TaskExecutor support")
        }
    }

    fileprivate func enqueueJob(_ job: UnownedJob) {
        if !submit(.job(job)) { runJob(job) }
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *)
extension MailMapThreadPool: TaskExecutor {
    /// Runs a task's job on one of the pool's threads (SE-0417 task executor preference).
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueueJob(UnownedJob(job))
    }
}

/// What a new worker thread needs: its pool and its number.
private final class WorkerContext {
    let pool: MailMapThreadPool
    let index: Int
    init(pool: MailMapThreadPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
