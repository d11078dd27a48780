#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes read from a file that holds a secret (a private key), in memory this object owns and
/// overwrites with zeros before freeing it — and whenever ``wipe()`` is called, in a way the
/// optimiser keeps (`explicit_bzero`). ``BoundedFile/readWiping(_:limit:)`` reads into one such
/// buffer, sized from `fstat`, so that no partial copy is left behind by a growing buffer.
package final class WipingBuffer {
    private var storage: UnsafeMutableRawBufferPointer
    /// How many bytes hold file contents.
    package fileprivate(set) var count = 0

    /// A zeroed buffer of `capacity` bytes (at least one).
    package init(capacity: Int) {
        storage = .allocate(byteCount: max(capacity, 1), alignment: 1)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        wipe()
        storage.deallocate()
    }

    /// The bytes allocated.
    package var capacity: Int { storage.count }

    /// Calls `body` with the contents; the pointer must not escape it.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[..<count]))
    }

    /// Overwrites every allocated byte with zeros; the contents are then empty.
    package func wipe() {
        guard let base = storage.baseAddress else { return }
        #if canImport(Darwin)
        _ = memset_s(base, storage.count, 0, storage.count)
        #else
        explicit_bzero(base, storage.count)
        #endif
        count = 0
    }
}

extension WipingBuffer: BoundedFileTarget {
    static func make(capacity: Int) -> WipingBuffer { WipingBuffer(capacity: capacity) }

    var filled: Int { count }

    func withFreeSpace(_ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        let read = body(UnsafeMutableRawBufferPointer(rebasing: storage[count...]))
        if read > 0 { count += read }
        return read
    }

    func grow(to capacity: Int) {
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        larger.initializeMemory(as: UInt8.self, repeating: 0)
        larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<count]))
        let kept = count
        wipe()
        storage.deallocate()
        storage = larger
        count = kept
    }
}
