#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one lock of a ``WorkerPool``: a pthread mutex with the two condition variables its threads
/// wait on, `work` (the workers: something was queued, or the pool stops) and `deadlines` (the
/// pool's watcher: an earlier deadline, or the pool stops). Synchronization's `Mutex` cannot wait,
/// so the pool's state is guarded by this alone, not by a `Mutex` beside it.
///
/// Timed waits use the monotonic clock (``PoolLock/now``), so a change of the wall clock neither
/// fires nor delays a deadline.
final class PoolLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let work: UnsafeMutablePointer<pthread_cond_t>
    private let deadlines: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        work = .allocate(capacity: 1)
        work.initialize(to: pthread_cond_t())
        pthread_cond_init(work, nil)
        deadlines = .allocate(capacity: 1)
        deadlines.initialize(to: pthread_cond_t())
        #if canImport(Darwin)
        pthread_cond_init(deadlines, nil)
        #else
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(deadlines, &attributes)
        pthread_condattr_destroy(&attributes)
        #endif
    }

    deinit {
        pthread_cond_destroy(deadlines)
        pthread_cond_destroy(work)
        pthread_mutex_destroy(mutex)
        deadlines.deallocate()
        work.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits for ``signalWork()`` or ``broadcastWork()``; the lock is held before and after.
    func waitForWork() { pthread_cond_wait(work, mutex) }
    func signalWork() { pthread_cond_signal(work) }
    func broadcastWork() { pthread_cond_broadcast(work) }

    /// Waits until `instant` (nanoseconds of ``now``) or ``signalDeadlines()``; the lock is held
    /// before and after.
    func waitForDeadlines(until instant: UInt64) {
        #if canImport(Darwin)
        let current = Self.now
        guard instant > current else { return }
        let delay = instant - current
        var relative = timespec(tv_sec: Int(delay / 1_000_000_000), tv_nsec: Int(delay % 1_000_000_000))
        pthread_cond_timedwait_relative_np(deadlines, mutex, &relative)
        #else
        var absolute = timespec(tv_sec: Int(instant / 1_000_000_000), tv_nsec: Int(instant % 1_000_000_000))
        pthread_cond_timedwait(deadlines, mutex, &absolute)
        #endif
    }

    func signalDeadlines() { pthread_cond_signal(deadlines) }

    /// The monotonic clock, in nanoseconds.
    static var now: UInt64 {
        var time = timespec()
        #if canImport(Darwin)
        clock_gettime(CLOCK_UPTIME_RAW, &time)
        #else
        clock_gettime(CLOCK_MONOTONIC, &time)
        #endif
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
