/// One call of ``WorkerPool/run(deadline:_:whenUnavailable:)``: the work, its deadline, and the
/// continuation that is resumed exactly once — with the result by the worker that ran it, or with
/// a failure by whoever found it late, refused or shut out first. `isFinished` is guarded by the
/// pool's lock and records that the one resumption was claimed.
class PoolCall: @unchecked Sendable {
    /// When the caller stops waiting, in nanoseconds of ``PoolLock/now``.
    let deadline: UInt64
    /// The deadline's length, for messages.
    let limit: UInt64
    /// Whether the continuation was claimed (guarded by the pool's lock).
    var isFinished = false

    init(deadline: UInt64, limit: UInt64) {
        self.deadline = deadline
        self.limit = limit
    }

    /// Runs the work on the calling thread and keeps its result.
    func execute() { preconditionFailure("PoolCall.execute is abstract") }
    /// Resumes the caller with the kept result.
    func deliver() { preconditionFailure("PoolCall.deliver is abstract") }
    /// Resumes the caller with `error`.
    func fail(_ error: WorkerPoolError) { preconditionFailure("PoolCall.fail is abstract") }
}

/// A ``PoolCall`` returning `T` or throwing `Failure`.
final class TypedCall<T: Sendable, Failure: Error>: PoolCall, @unchecked Sendable {
    private let body: @Sendable () throws(Failure) -> T
    private let whenUnavailable: @Sendable (WorkerPoolError) -> Failure
    private let continuation: UnsafeContinuation<Result<T, Failure>, Never>
    // Written by `execute` and read by `deliver`, on the same worker thread.
    private var result: Result<T, Failure>?

    init(
        deadline: UInt64, limit: UInt64, body: @escaping @Sendable () throws(Failure) -> T,
        whenUnavailable: @escaping @Sendable (WorkerPoolError) -> Failure,
        continuation: UnsafeContinuation<Result<T, Failure>, Never>
    ) {
        self.body = body
        self.whenUnavailable = whenUnavailable
        self.continuation = continuation
        super.init(deadline: deadline, limit: limit)
    }

    override func execute() {
        result = Result(catching: body)
    }

    override func deliver() {
        guard let result else { preconditionFailure("PoolCall delivered before it ran") }
        continuation.resume(returning: result)
    }

    override func fail(_ error: WorkerPoolError) {
        continuation.resume(returning: .failure(whenUnavailable(error)))
    }
}
