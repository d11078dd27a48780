internal import NIOCore

/// A connection's event loop as a task executor (SE-0417): a task that prefers it runs its jobs
/// on the event loop's thread, so that awaiting the connection costs no thread switch.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
