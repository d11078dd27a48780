import Logging
import NIOCore
import SMTPClient
import SMTPProtocol
import Synchronization

/// The sessions the runner keeps open, one lane per destination: a message for a destination goes
/// to an idle session of its lane, or to a new one while the lane has fewer than
/// ``destinationLimit`` sessions, or waits for one. A session carries messages one after another
/// (up to SMTPClient's reuse limit) and is closed after ``idleTime`` without work.
///
/// When a session cannot be opened and no other session of the lane is working, every message
/// waiting for the lane gets the same failure at once, instead of each waiting for its own
/// connection timeout.
///
/// Each session runs as a task that prefers its connection's event loop, so sending a message
/// costs no switch between threads; nothing here blocks.
final class ConnectionCache: Sendable {
    typealias Outcome = Result<SMTPSendResult, SMTPClientError>

    struct Job: Sendable {
        var envelope: SMTPEnvelope
        var body: DeliveryBody
        var continuation: CheckedContinuation<Outcome, Never>
    }

    private struct Idle {
        var worker: Int
        var since: ContinuousClock.Instant
        var continuation: CheckedContinuation<Job?, Never>
    }

    private struct Lane {
        var destination: SMTPDestination
        var workers = 0
        /// Sessions open now: a failure to open is not the lane's last word while another works.
        var sessions = 0
        var jobs: [Job] = []
        var jobHead = 0
        var idle: [Idle] = []

        mutating func popJob() -> Job? {
            guard jobHead < jobs.count else { return nil }
            let job = jobs[jobHead]
            jobHead += 1
            if jobHead > 64, jobHead * 2 > jobs.count {
                jobs.removeFirst(jobHead)
                jobHead = 0
            }
            return job
        }

        var queuedCount: Int { jobs.count - jobHead }
    }

    private struct State {
        var lanes: [String: Lane] = [:]
        var nextWorker = 0
        var workers = 0
        var closing = false
        var closed: [CheckedContinuation<Void, Never>] = []
        var sweeperRunning = false
        var sessionsOpened = 0
        /// Each session's task, so that ``cutOff()`` can cancel them.
        var tasks: [Int: Task<Void, Never>] = [:]
        var cutOff = false
    }

    let configuration: SMTPClientConfiguration
    let destinationLimit: Int
    let idleTime: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: SMTPClientConfiguration, destinationLimit: Int, idleTime: Duration, logger: Logger) {
        self.configuration = configuration
        self.destinationLimit = max(1, destinationLimit)
        self.idleTime = idleTime
        self.logger = logger
    }

    /// Sessions opened so far.
    var sessionsOpened: Int { state.withLock { $0.sessionsOpened } }

    /// Sends one message to the destination of `key`: the result per recipient, or why the
    /// session failed.
    func send(_ envelope: SMTPEnvelope, body: DeliveryBody, key: String, destination: SMTPDestination) async -> Outcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let job = Job(envelope: envelope, body: body, continuation: continuation)
            enum Step {
                case handed(CheckedContinuation<Job?, Never>)
                case start(Int)
                case queued
                case refused
            }
            let step: Step = state.withLock { state in
                guard !state.closing else { return .refused }
                var lane = state.lanes[key] ?? Lane(destination: destination)
                defer { state.lanes[key] = lane }
                if !lane.idle.isEmpty {
                    return .handed(lane.idle.removeLast().continuation)
                }
                lane.jobs.append(job)
                guard lane.workers < destinationLimit else { return .queued }
                lane.workers += 1
                state.workers += 1
                state.nextWorker += 1
                return .start(state.nextWorker)
            }
            switch step {
            case .handed(let worker):
                worker.resume(returning: job)
            case .start(let worker):
                startSweeper()
                state.withLock { state in
                    // Recorded under the lock the task takes to end, so it is always recorded first.
                    let task = Task { await self.work(key: key, worker: worker) }
                    state.tasks[worker] = task
                    if state.cutOff { task.cancel() }
                }
            case .queued:
                break
            case .refused:
                continuation.resume(returning: .failure(SMTPClientError(.cancelled, stage: .connect, "the queue runner is stopping")))
            }
        }
    }

    /// Cancels every session's task (a shutdown): a connection being opened or a message being
    /// sent fails at once as cancelled (a temporary failure: the message stays queued) instead of
    /// waiting for its timeout — up to RFC 5321's five minutes for a greeting.
    func cutOff() {
        let tasks = state.withLock { state in
            state.cutOff = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
    }

    /// Closes every session (QUIT) once its message is done; messages still waiting get a
    /// temporary failure.
    func close() async {
        let (waiting, idle): ([Job], [CheckedContinuation<Job?, Never>]) = state.withLock { state in
            state.closing = true
            var waiting: [Job] = []
            var idle: [CheckedContinuation<Job?, Never>] = []
            for key in Array(state.lanes.keys) {
                while let job = state.lanes[key]!.popJob() { waiting.append(job) }
                idle += state.lanes[key]!.idle.map(\.continuation)
                state.lanes[key]!.idle = []
            }
            return (waiting, idle)
        }
        for job in waiting {
            job.continuation.resume(returning: .failure(SMTPClientError(.cancelled, stage: .connect, "the queue runner is stopping")))
        }
        for worker in idle { worker.resume(returning: nil) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.workers == 0 { return true }
                state.closed.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    // MARK: - Sessions

    private func work(key: String, worker: Int) async {
        var connection: SMTPClientConnection?
        var job = takeQueued(key: key)
        while let current = job {
            if let open = connection, !open.canSend {
                await open.close()
                connection = nil
                sessionClosed(key: key)
            }
            if connection == nil {
                let destination = state.withLock { $0.lanes[key]?.destination }
                guard let destination else { break }
                do {
                    let opened = try await SMTPClientConnection.open(to: destination, configuration: configuration)
                    connection = opened
                    state.withLock {
                        $0.lanes[key]?.sessions += 1
                        $0.sessionsOpened += 1
                    }
                    logSession(opened)
                } catch {
                    current.continuation.resume(returning: .failure(error))
                    failQueuedIfAlone(key: key, error: error)
                    break
                }
            }
            guard let open = connection else { break }
            let outcome: Outcome
            do {
                let result = try await withTaskExecutorPreference(open.taskExecutor) { () async throws(SMTPClientError) -> SMTPSendResult in
                    switch current.body {
                    case .buffer(let text):
                        return try await open.send(text, envelope: current.envelope)
                    case .stream(let body, let header, let replacing):
                        var envelope = current.envelope
                        if envelope.parameters.size == nil { envelope.parameters.size = body.size }
                        return try await open.send(DeliveryStream(body: body, header: header, replacing: replacing), envelope: envelope)
                    }
                }
                outcome = .success(result)
            } catch {
                outcome = .failure(error)
                await open.close()
                connection = nil
                sessionClosed(key: key)
            }
            current.continuation.resume(returning: outcome)
            job = await nextJob(key: key, worker: worker)
        }
        if let connection {
            await connection.close()
            sessionClosed(key: key)
        }
        let closed: [CheckedContinuation<Void, Never>] = state.withLock { state in
            if state.lanes[key] != nil {
                state.lanes[key]!.workers -= 1
                if state.lanes[key]!.workers == 0, state.lanes[key]!.queuedCount == 0 { state.lanes[key] = nil }
            }
            state.workers -= 1
            state.tasks[worker] = nil
            guard state.workers == 0, state.closing else { return [] }
            defer { state.closed = [] }
            return state.closed
        }
        for waiter in closed { waiter.resume() }
    }

    private func sessionClosed(key: String) {
        state.withLock { $0.lanes[key]?.sessions -= 1 }
    }

    private func takeQueued(key: String) -> Job? {
        state.withLock { $0.lanes[key]?.popJob() }
    }

    /// The next message for a session: one already waiting, or one that comes within the idle time.
    private func nextJob(key: String, worker: Int) async -> Job? {
        if let job = takeQueued(key: key) { return job }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Job?, Never>) in
            let resumeNow: (Bool, Job?) = state.withLock { state in
                guard !state.closing, state.lanes[key] != nil else { return (true, nil) }
                if let job = state.lanes[key]!.popJob() { return (true, job) }
                state.lanes[key]!.idle.append(Idle(worker: worker, since: .now, continuation: continuation))
                return (false, nil)
            }
            if resumeNow.0 { continuation.resume(returning: resumeNow.1) }
        }
    }

    /// A session could not be opened: when no other session of the lane has one, every message
    /// waiting for the lane fails the same way.
    private func failQueuedIfAlone(key: String, error: SMTPClientError) {
        let failed: [Job] = state.withLock { state in
            guard var lane = state.lanes[key], lane.sessions == 0 else { return [] }
            var jobs: [Job] = []
            while let job = lane.popJob() { jobs.append(job) }
            state.lanes[key] = lane
            return jobs
        }
        for job in failed { job.continuation.resume(returning: .failure(error)) }
    }

    /// Closes sessions idle for longer than the idle time, twice a second.
    private func startSweeper() {
        let start = state.withLock { state -> Bool in
            guard !state.sweeperRunning else { return false }
            state.sweeperRunning = true
            return true
        }
        guard start else { return }
        let idleTime = idleTime
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: .milliseconds(500))
                guard let self else { return }
                let (expired, stop): ([CheckedContinuation<Job?, Never>], Bool) = self.state.withLock { state in
                    let now = ContinuousClock.now
                    var expired: [CheckedContinuation<Job?, Never>] = []
                    for key in Array(state.lanes.keys) {
                        let lane = state.lanes[key]!
                        let (old, fresh) = (lane.idle.filter { now - $0.since >= idleTime }, lane.idle.filter { now - $0.since < idleTime })
                        expired += old.map(\.continuation)
                        state.lanes[key]!.idle = fresh
                    }
                    let stop = state.workers - expired.count <= 0 || state.closing
                    if stop { state.sweeperRunning = false }
                    return (expired, stop)
                }
                for worker in expired { worker.resume(returning: nil) }
                if stop { return }
            }
        }
    }

    private func logSession(_ connection: SMTPClientConnection) {
        let server = connection.server
        if let tls = server.tls {
            logger.info("STARTTLS=client, relay=\(server), \(tls.logFields)")
        }
        if let mechanism = server.authenticationMechanism {
            logger.info("AUTH=client, relay=\(server), mech=\(mechanism), bits=0")
        }
    }
}
