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

    /// Opens the spool (recovering what it holds), starts the runner on it and attaches the
    /// store. Throws a start-up error naming the spool.
    static func start(
        directory: String, store: QueueStore, delivery: DeliverySetup, logger: Logger
    ) async throws(StartError) -> DeliveryService {
        let queue: MailQueue
        do {
            queue = try await MailQueue.open(directory: directory, logger: logger)
        } catch {
            throw StartError(description: "queue.directory: \(error)", status: error.kind == .spoolInUse ? 75 : 73)
        }
        let runner = delivery.makeRunner(queue: queue, logger: logger)
        let control: QueueControlServer
        do {
            control = try await QueueControlServer.start(queue: queue, runner: runner, hostname: delivery.configuration.hostname, logger: logger)
        } catch {
            await runner.shutdown()
            await queue.close()
            throw StartError(description: "queue.directory: \(error)", status: 73)
        }
        store.attach(queue: queue, runner: runner)
        let task = Task { await runner.run() }
        let held = queue.list().count
        if held > 0 { logger.notice("spool holds \(held) message\(held == 1 ? "" : "s"); delivering") }
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
