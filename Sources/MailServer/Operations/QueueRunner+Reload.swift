extension QueueRunner {
    /// SIGHUP: the attempts that start from now on route with `setup`'s router and maps (the
    /// mailertable, aliases, authinfo and TLS policy read again); those in progress finish with the
    /// ones they started with. The runner's other settings (`[queue]`, `[local]`) stay as started.
    func reload(_ setup: DeliverySetup) {
        let planner = DeliveryPlanner(router: setup.router, tlsPolicies: setup.tlsPolicies, logger: logger)
        routing.withLock { $0 = (setup.router, planner) }
    }
}
