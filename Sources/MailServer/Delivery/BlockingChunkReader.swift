import NIOCore

/// Hands the text of a queued message, read by an async task from the spool, to code on a worker
/// thread that reads it with a blocking call (the mailbox writers take a synchronous source). At
/// most ``capacity`` pieces wait between the two, so memory stays bounded for any size.
final class BlockingChunkReader: @unchecked Sendable {
    /// Pieces held at most.
    static let capacity = 4

    private let lock = QueueLock(conditions: 1)
    private var pieces: [ByteBuffer] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var producerWaiting: UnsafeContinuation<Void, Never>?
    private var producer: Task<Void, Never>?

    /// Starts reading `body`.
    init(_ body: QueueMessageBody) {
        producer = Task { [weak self] in
            do {
                for try await piece in body {
                    guard let self, await self.push(piece) else { return }
                }
                self?.finish(nil)
            } catch {
                self?.finish(error)
            }
        }
    }

    deinit {
        producer?.cancel()
    }

    /// Waits (async) for room, then adds a piece; `false` once the consumer has gone.
    private func push(_ piece: ByteBuffer) async -> Bool {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            lock.lock()
            if pieces.count < Self.capacity || cancelled {
                lock.unlock()
                continuation.resume()
            } else {
                producerWaiting = continuation
                lock.unlock()
            }
        }
        return lock.withLock {
            guard !cancelled else { return false }
            pieces.append(piece)
            lock.signal(0)
            return true
        }
    }

    private func finish(_ error: (any Error)?) {
        lock.withLock {
            finished = true
            failure = error
            lock.signal(0)
        }
    }

    /// The next piece, waiting for it (blocking: call it on a worker thread only); `nil` at the end.
    func next() throws -> [UInt8]? {
        lock.lock()
        while pieces.isEmpty, !finished { lock.wait(0) }
        if !pieces.isEmpty {
            var piece = pieces.removeFirst()
            let waiting = producerWaiting
            producerWaiting = nil
            lock.unlock()
            waiting?.resume()
            return piece.readBytes(length: piece.readableBytes)
        }
        let failure = failure
        lock.unlock()
        if let failure { throw failure }
        return nil
    }

    /// Stops the reading (the consumer gave up).
    func cancel() {
        let waiting: UnsafeContinuation<Void, Never>? = lock.withLock {
            cancelled = true
            defer { producerWaiting = nil }
            return producerWaiting
        }
        waiting?.resume()
        producer?.cancel()
    }
}
