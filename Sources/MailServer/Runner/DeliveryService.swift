import Logging

/// The spool, the queue runner and the control socket of a running `swiftmta serve`, started
/// before the listeners and stopped after them.
final class DeliveryService: Sendable {
    let queue: MailQueue
    let runner: QueueRunner
    let control: QueueControlServer
    private let runnerTask: Task<Void, Never>

    private init(queue: MailQueue, runner: QueueRunner, control: QueueControlServer, runnerTask: Task<Void, Never>) {
        self.queue = queue
        self.runner = runner
        self.control = control
        self.runnerTask = runnerTask
    }

    /// Why the service did not start.
    struct StartError: Error, CustomStringConvertible {
        let description: String
        /// sysexits: 75 (EX_TEMPFAIL) when another process has the spool, 73 (EX_CANTCREAT) otherwise.
        let status: Int32
    }

    /// Starts the runner on the open spool `queue` (everything it holds is scheduled) and the
    /// control socket beside it. Throws a start-up error naming the spool.
    static func start(queue: MailQueue, delivery: DeliverySetup, logger: Logger) async throws(StartError) -> DeliveryService {
        let runner = delivery.makeRunner(queue: queue, logger: logger)
        let control: QueueControlServer
        do {
            control = try await QueueControlServer.start(
                queue: queue, runner: runner, hostname: delivery.configuration.hostname, authWarnings: delivery.authWarnings, logger: logger)
        } catch {
            await runner.shutdown()
            throw StartError(description: "queue.directory: \(error)", status: 73)
        }
        let task = Task { await runner.run() }
        return DeliveryService(queue: queue, runner: runner, control: control, runnerTask: task)
    }

    /// Stops the runner (deliveries in progress are cut off and stay queued) and closes the spool.
    func stop() async {
        await control.stop()
        await runner.shutdown()
        await runnerTask.value
        await queue.close()
    }
}
