import Logging

/// The spool, the queue runner and the control socket of a running `swiftmta serve`, started
/// before the listeners and stopped after them.
final class DeliveryService: Sendable {
    let queue: MailQueue
    let runner: QueueRunner
    private let runnerTask: Task<Void, Never>

    private init(queue: MailQueue, runner: QueueRunner, runnerTask: Task<Void, Never>) {
        self.queue = queue
        self.runner = runner
        self.runnerTask = runnerTask
    }

    /// Opens the spool (recovering what it holds), starts the runner on it and attaches the
    /// store. Throws a start-up error naming the spool.
    static func start(
        directory: String, store: QueueStore, delivery: DeliverySetup, logger: Logger
    ) async throws(MailQueueError) -> DeliveryService {
        let queue = try await MailQueue.open(directory: directory, logger: logger)
        let runner = delivery.makeRunner(queue: queue, logger: logger)
        store.attach(queue: queue, runner: runner)
        let task = Task { await runner.run() }
        let held = queue.list().count
        if held > 0 { logger.notice("spool holds \(held) message\(held == 1 ? "" : "s"); delivering") }
        return DeliveryService(queue: queue, runner: runner, runnerTask: task)
    }

    /// Stops the runner (deliveries in progress are cut off and stay queued) and closes the spool.
    func stop() async {
        await runner.shutdown()
        await runnerTask.value
        await queue.close()
    }
}
