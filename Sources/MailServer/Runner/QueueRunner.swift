public import Logging
public import MailMaps
public import MailRouting
import NIOCore
import NIOPosix
public import SMTPClient
import SMTPProtocol
import Synchronization

/// The queue runner: delivers what the spool holds, recipient by recipient, and keeps the spool's
/// record of each recipient up to date, so that a restart carries on where delivery stood.
///
/// A message is tried as soon as it is committed (``submitted(_:)``), not at the next timer tick;
/// a deferred recipient again after its retry delay, which starts at ``QueueSettings/minQueueAge``
/// and doubles up to ``QueueSettings/maxQueueAge``. Each recipient goes where MailRouting's
/// decision says (<doc:QueueRunner> describes the delivery agents): recipients of one message for
/// one destination share one SMTP transaction; sessions are kept open for the next message to the
/// same destination, at most ``DeliverySettings/destinationConcurrency`` of them per destination,
/// and at most ``DeliverySettings/messagesInFlight`` messages are being delivered at once.
///
/// Delivery status notifications (RFC 3464) go back to the envelope sender: a bounce for a
/// recipient that failed for good or was not delivered within ``QueueSettings/queueReturn``, a
/// warning once after ``QueueSettings/queueWarn``, a success report for NOTIFY=SUCCESS (RFC 3461
/// §4.1) — `delivered` by a local mailbox or LMTP, `relayed` to a server that does not do DSN.
/// None ever goes to the null sender `<>` (RFC 5321 §6.1); a bounce that itself fails goes to
/// the postmaster, and one to the postmaster that fails is only logged.
///
/// Crash safety: a recipient's new state is recorded (a journal record, flushed) only after its
/// delivery ended, and a message is removed only after every notification it owed is in the
/// spool. A crash in between repeats a delivery or a notification, never loses one.
///
/// Nothing here blocks a thread: routing runs as one job per message on the maps' thread pool,
/// local mailboxes are written on the runner's own threads, SMTP sessions run on their event
/// loops.
public final class QueueRunner: Sendable {
    /// What the runner needs besides the spool and the router.
    public struct Configuration: Sendable {
        /// The name this host gives in EHLO and reports in DSNs (`Reporting-MTA`).
        public var hostname: String
        /// The retry schedule, queuewarn and queuereturn.
        public var queue: QueueSettings
        /// Mailboxes, concurrency, session reuse, delivery mode.
        public var delivery: DeliverySettings
        /// The SMTP client's settings: TLS (trusted CAs, client certificate), DNS, timeouts. Its
        /// host name and reuse limit are set from the fields above.
        public var client: SMTPClientConfiguration

        /// A configuration; `client` defaults to SMTPClient's defaults.
        public init(
            hostname: String, queue: QueueSettings = QueueSettings(), delivery: DeliverySettings = DeliverySettings(),
            client: SMTPClientConfiguration? = nil
        ) {
            self.hostname = hostname
            self.queue = queue
            self.delivery = delivery
            self.client = client ?? SMTPClientConfiguration(hostname: hostname)
        }
    }

    /// Counters since start.
    public struct Statistics: Hashable, Sendable {
        /// Delivery attempts of messages.
        public var attempts = 0
        /// Recipients delivered.
        public var delivered = 0
        /// Recipients deferred (temporary failures).
        public var deferred = 0
        /// Recipients failed for good.
        public var failed = 0
        /// Notifications (DSNs) put in the spool.
        public var notifications = 0
        /// SMTP sessions opened.
        public var sessionsOpened = 0
    }

    let queue: MailQueue
    /// The router and the planner over it; a reload (SIGHUP) replaces them for the attempts that
    /// start after it.
    let routing: Mutex<(router: Router, planner: DeliveryPlanner)>
    var planner: DeliveryPlanner { routing.withLock { $0.planner } }
    var router: Router { routing.withLock { $0.router } }
    let routingExecutor: any TaskExecutor
    let configuration: Configuration
    let clock: any QueueRunnerClock
    let logger: Logger
    let connections: ConnectionCache
    let localAgent: LocalDeliveryAgent
    private let localPool: NIOThreadPool
    let scheduler: RunnerScheduler
    let counters = Mutex(Statistics())
    let hints = DeliveryHints()
    /// Whether ``run()`` has started, and whether the sessions and threads are closed.
    private let lifecycle = Mutex((running: false, closed: false))

    /// A runner for `queue`, routing with `router` (its lookups run on `routingExecutor`, the maps'
    /// thread pool), with the TLS policy map `tlsPolicies` when there is one.
    public init(
        queue: MailQueue, router: Router, routingExecutor: any TaskExecutor, tlsPolicies: (any MailMap)? = nil,
        configuration: Configuration, clock: any QueueRunnerClock = SystemQueueClock(),
        logger: Logger = Logger(label: "swiftmta.runner")
    ) {
        self.queue = queue
        self.routing = Mutex((router, DeliveryPlanner(router: router, tlsPolicies: tlsPolicies, logger: logger)))
        self.routingExecutor = routingExecutor
        var configuration = configuration
        configuration.client.hostname = configuration.hostname
        configuration.client.maximumMessagesPerConnection = configuration.delivery.connectionReuse
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.connections = ConnectionCache(
            configuration: configuration.client, destinationLimit: configuration.delivery.destinationConcurrency,
            idleTime: configuration.delivery.connectionIdle, logger: logger)
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        self.localPool = pool
        self.localAgent = LocalDeliveryAgent(
            mailDirectory: configuration.delivery.mailDirectory, format: configuration.delivery.mailboxFormat,
            hostname: configuration.hostname, pool: pool)
        self.scheduler = RunnerScheduler(limit: configuration.delivery.messagesInFlight)
    }

    /// Counters since start.
    public var statistics: Statistics {
        var statistics = counters.withLock { $0 }
        statistics.sessionsOpened = connections.sessionsOpened
        return statistics
    }

    // MARK: - Running

    /// Delivers until ``shutdown()``: first everything the spool holds (each at its own next
    /// attempt time), then each message as it is submitted or comes due.
    public func run() async {
        lifecycle.withLock { $0.running = true }
        let stream = scheduler.start()
        if configuration.delivery.mode == .background {
            for message in queue.list() {
                scheduler.schedule(message.id, at: message.nextAttempt ?? clock.now())
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.timerLoop() }
            for await id in stream {
                group.addTask {
                    let next = await self.attempt(id, force: false, cache: self.connections)
                    self.scheduler.finished(id, next: next, reschedules: self.configuration.delivery.mode == .background)
                }
            }
            group.cancelAll()
        }
        await closeResources()
    }

    /// Closes the cached sessions and stops the local delivery threads, once.
    private func closeResources() async {
        let first = lifecycle.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        await connections.close()
        try? await localPool.shutdownGracefully()
    }

    /// A message was committed to the spool: deliver it now (in `background` mode; in `queue`
    /// mode it waits for a queue run).
    public func submitted(_ id: QueueID) {
        guard configuration.delivery.mode == .background else { return }
        scheduler.submit(id)
    }

    /// A message was committed, with what the server already knows of it for the first attempt.
    func submitted(_ id: QueueID, hint: DeliveryHint) {
        guard configuration.delivery.mode == .background else { return }
        hints.store(hint, for: id)
        scheduler.submit(id)
    }

    /// Stops: no new attempts; attempts in progress are cancelled (what they had not finished stays
    /// in the spool, as it was) and sessions closed. ``run()`` returns. A runner used only for
    /// ``runQueue(_:observer:)`` closes its sessions and threads here.
    public func shutdown() async {
        scheduler.stop()
        // Deliveries in progress are cut off (they stay queued), not waited for.
        connections.cutOff()
        if !lifecycle.withLock({ $0.running }) { await closeResources() }
    }

    /// Fires deferred messages when their time comes.
    private func timerLoop() async {
        while !Task.isCancelled {
            let next = scheduler.earliest() ?? clock.now().advanced(by: .seconds(60))
            // Until that time, or until an earlier timer is set meanwhile.
            let clock = clock
            let scheduler = scheduler
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await clock.sleep(until: next) }
                group.addTask { await scheduler.waitForTimer(earlierThan: next) }
                await group.next()
                group.cancelAll()
            }
            if Task.isCancelled { return }
            for id in scheduler.due(at: clock.now()) { scheduler.submit(id) }
        }
    }

    // MARK: - Queue runs

    /// Which messages a queue run attempts.
    public enum RunSelection: Hashable, Sendable {
        /// Recipients whose retry time has come (`swiftmta queue run`, `sendmail -q`).
        case due
        /// Every recipient not yet delivered, whatever its retry time (`swiftmta queue flush`).
        case all
        /// One message, now.
        case message(QueueID)
    }

    /// What a queue run did.
    public struct RunReport: Hashable, Sendable {
        /// Messages attempted.
        public var messages = 0
        /// Recipients delivered.
        public var delivered = 0
        /// Recipients deferred.
        public var deferred = 0
        /// Recipients failed for good.
        public var failed = 0
        /// Messages left in the spool afterwards.
        public var remaining = 0
    }

    /// Watches a queue run: the SMTP dialogue (Sendmail's `-q -v`), each recipient's outcome as it
    /// is logged, and the progress through the run.
    public struct RunObserver: Sendable {
        /// Each line of each SMTP dialogue (`>>> MAIL From:<…>`, `250 2.1.0 Ok`).
        public var transcript: (@Sendable (String) -> Void)?
        /// Each recipient's outcome, in Sendmail's log form.
        public var outcome: (@Sendable (String) -> Void)?
        /// Messages done and messages in the run.
        public var progress: (@Sendable (Int, Int) -> Void)?

        /// An observer.
        public init(
            transcript: (@Sendable (String) -> Void)? = nil, outcome: (@Sendable (String) -> Void)? = nil,
            progress: (@Sendable (Int, Int) -> Void)? = nil
        ) {
            self.transcript = transcript
            self.outcome = outcome
            self.progress = progress
        }
    }

    /// Attempts the selected messages now and returns once each attempt has ended. Messages the
    /// runner is delivering already are left to it.
    public func runQueue(_ selection: RunSelection = .due, observer: RunObserver = RunObserver()) async -> RunReport {
        let now = clock.now()
        var chosen: [QueueID] = []
        for message in queue.list() {
            switch selection {
            case .all: chosen.append(message.id)
            case .due: if message.nextAttempt.map({ $0 <= now }) ?? true { chosen.append(message.id) }
            case .message(let id): if message.id == id { chosen.append(id) }
            }
        }
        var cache = connections
        if let transcript = observer.transcript {
            var client = configuration.client
            let lastServer = Mutex("")
            client.transcript = { line in
                let changed = lastServer.withLock { last -> Bool in
                    defer { last = line.server }
                    return last != line.server
                }
                if changed { transcript("Connecting to \(line.server)...") }
                transcript(line.description)
            }
            cache = ConnectionCache(
                configuration: client, destinationLimit: configuration.delivery.destinationConcurrency, idleTime: .milliseconds(200),
                logger: logger)
        }
        let before = counters.withLock { $0 }
        let total = chosen.count
        let force = selection != .due
        let limit = max(1, configuration.delivery.messagesInFlight)
        let runCache = cache
        let reschedules = configuration.delivery.mode == .background
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            var done = 0
            for id in chosen {
                guard scheduler.claim(id) else { continue }
                if running >= limit {
                    await group.next()
                    running -= 1
                    done += 1
                    observer.progress?(done, total)
                }
                running += 1
                group.addTask {
                    let next = await self.attempt(id, force: force, cache: runCache, observer: observer)
                    self.scheduler.finished(id, next: next, reschedules: reschedules)
                }
            }
            while await group.next() != nil {
                done += 1
                observer.progress?(done, total)
            }
        }
        if cache !== connections { await cache.close() }
        let after = counters.withLock { $0 }
        return RunReport(
            messages: after.attempts - before.attempts, delivered: after.delivered - before.delivered,
            deferred: after.deferred - before.deferred, failed: after.failed - before.failed, remaining: queue.list().count)
    }

    func count(_ change: (inout Statistics) -> Void) {
        counters.withLock { change(&$0) }
    }
}
