#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A few threads of MailAuth's own for work that blocks or burns CPU: libsasl2 calls (saslauthd,
/// PAM and sasldb reads block) and PBKDF2 key derivation. Async callers await the result, so neither
/// an event-loop thread nor a thread of Swift's cooperative pool ever waits on them.
///
/// Threads are started on demand up to `maximumThreads` and then kept; work beyond that waits its
/// turn in order. The pools live as long as the process; the two are separate so that slow
/// libsasl2 calls never delay key derivation, nor the reverse.
final class BlockingThreadPool: @unchecked Sendable {
    /// libsasl2's calls, which wait on disks, sockets and PAM's failure delays: enough threads that
    /// a few slow checks do not hold up the rest.
    static let libsasl2 = BlockingThreadPool(maximumThreads: 8)
    /// PBKDF2 key derivation, which only burns CPU: a couple of threads, so that a flood of SCRAM
    /// attempts queues instead of taking every core.
    static let keyDerivation = BlockingThreadPool(maximumThreads: 2)

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let maximumThreads: Int
    // Guarded by `mutex`.
    private var pending: [@Sendable () -> Void] = []
    private var head = 0
    private var threads = 0
    private var idle = 0

    init(maximumThreads: Int) {
        self.maximumThreads = maximumThreads
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on a pool thread and returns its result.
    func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            enqueue {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func enqueue(_ work: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        pending.append(work)
        // A thread more whenever queued work outnumbers the idle threads: counting only "no thread
        // idle" let work wait behind a signalled thread that had not yet woken, even below the maximum.
        let startThread = pending.count - head > idle && threads < maximumThreads
        if startThread { threads += 1 }
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if startThread { spawn() }
    }

    private func spawn() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let created = pthread_create(&thread, &attributes, { context in
            #if canImport(Darwin)
            let pool = Unmanaged<BlockingThreadPool>.fromOpaque(context).takeRetainedValue()
            #else
            let pool = Unmanaged<BlockingThreadPool>.fromOpaque(context!).takeRetainedValue()
            #endif
            pool.work()
            return nil
        }, context)
        pthread_attr_destroy(&attributes)
        if created != 0 {
            // No thread: the work still runs, on the threads that exist or, failing any, right here.
            Unmanaged<BlockingThreadPool>.fromOpaque(context).release()
            pthread_mutex_lock(mutex)
            threads -= 1
            let none = threads == 0
            pthread_mutex_unlock(mutex)
            if none { drainInline() }
        }
    }

    private func drainInline() {
        while let work = next(waiting: false) { work() }
    }

    private func next(waiting: Bool) -> (@Sendable () -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == pending.count {
            guard waiting else { return nil }
            idle += 1
            pthread_cond_wait(condition, mutex)
            idle -= 1
        }
        let work = pending[head]
        head += 1
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        }
        return work
    }

    private func work() {
        while let work = next(waiting: true) { work() }
    }
}
