import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One background thread that gives up the shared locks of ``BerkeleyDBMap``s nobody looked up
/// for a lease's length, so that a program waiting to rewrite a map gets in even when no mail
/// comes. It ticks four times a second and holds only weak references.
final class BerkeleyDBLeaseReaper: Sendable {
    static let shared = BerkeleyDBLeaseReaper()

    private struct Entry: @unchecked Sendable {
        weak var map: BerkeleyDBMap?
    }

    private let maps = Mutex<[Entry]>([])
    private let started = Atomic<Bool>(false)

    func register(_ map: BerkeleyDBMap) {
        maps.withLock { entries in
            entries.removeAll { $0.map == nil }
            entries.append(Entry(map: map))
        }
        if !started.exchange(true, ordering: .acquiringAndReleasing) { startThread() }
    }

    private func startThread() {
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { _ in
            BerkeleyDBLeaseReaper.shared.run()
        }, nil)
        if status == 0 { pthread_detach(thread) }
    }

    private func run() -> Never {
        while true {
            usleep(250_000)
            let live = maps.withLock { entries in
                entries.removeAll { $0.map == nil }
                return entries.compactMap(\.map)
            }
            let now = LeaseClock.now
            for map in live { map.releaseExpiredLease(now: now) }
        }
    }
}
