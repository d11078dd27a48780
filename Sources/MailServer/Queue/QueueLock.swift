#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex with condition variables, for the journal's own threads (Synchronization's
/// `Mutex` cannot wait). Timed waits use the monotonic clock, so a change of the wall clock
/// neither fires nor delays them.
final class QueueLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    /// A lock with `conditions` condition variables, numbered from 0.
    init(conditions: Int) {
        conditionCount = conditions
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.conditions = .allocate(capacity: conditions)
        for index in 0..<conditions {
            (self.conditions + index).initialize(to: pthread_cond_t())
            #if canImport(Darwin)
            pthread_cond_init(self.conditions + index, nil)
            #else
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(self.conditions + index, &attributes)
            pthread_condattr_destroy(&attributes)
            #endif
        }
    }

    deinit {
        for index in 0..<conditionCount { pthread_cond_destroy(conditions + index) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits on condition `index`; the lock is held before and after.
    func wait(_ index: Int) { pthread_cond_wait(conditions + index, mutex) }

    /// Waits on condition `index` for at most `nanoseconds`; the lock is held before and after.
    func wait(_ index: Int, nanoseconds: UInt64) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        #if canImport(Darwin)
        var relative = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        pthread_cond_timedwait_relative_np(conditions + index, mutex, &relative)
        #else
        pthread_cond_timedwait(conditions + index, mutex, &deadline)
        #endif
    }

    func signal(_ index: Int) { pthread_cond_signal(conditions + index) }
    func broadcast(_ index: Int) { pthread_cond_broadcast(conditions + index) }
}

/// Starts a detached thread of the journal's own, named for `top`-style tools.
enum QueueThread {
    private final class Box {
        let body: () -> Void
        let name: String
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread; `false` when the system refused one.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
