internal import MailMaps
internal import MailTLS
internal import NIOCore
internal import NIOPosix
internal import SMTPProtocol
import Synchronization

/// Finds the servers of a destination and opens a session with the first that works
/// (RFC 5321 §5.1): MX records in preference order (equal preferences shuffled), the domain itself
/// when it has none, each host's IPv6 and IPv4 addresses in turn; a bracketed host or an address
/// skips MX. A server that cannot be reached, refuses the session, or cannot give the TLS the
/// policy asks for is skipped for the next; an AUTH failure is not (the credentials would fail
/// everywhere).
struct SMTPConnector: Sendable {
    let destination: SMTPDestination
    let configuration: SMTPClientConfiguration

    /// One host to try: a name, where it came from, and whether its DNS answers were secure.
    struct Host: Sendable {
        var name: String
        var mxPreference: UInt16?
        /// Known addresses (an address target); `nil` to look them up.
        var addresses: [String]?
        /// Whether the MX answer that named the host was DNSSEC-authenticated (RFC 7672 §2.2.1).
        var secureReferral: Bool
    }

    /// How TLS is done with one host, once its policy (and DANE records) are known.
    enum TLSPlan: Sendable {
        case none
        case opportunistic
        case required(TLSPeerVerification)
    }

    func open() async throws(SMTPClientError) -> SMTPClientConnection {
        let tlsContext = try await loadTLSContext()
        if case .unixSocket(let path) = destination.target {
            return try await attempt(host: Host(name: "localhost", addresses: [path], secureReferral: false),
                                     address: path, plan: .none, tlsContext: tlsContext)
        }
        let hosts = try await mailHosts()
        var attempts: [String] = []
        var last: SMTPClientError?
        var budget = max(1, configuration.maximumAddressesTried)
        hostLoop: for host in hosts {
            let addresses: [String]
            let addressesSecure: Bool
            do {
                (addresses, addressesSecure) = try await self.addresses(of: host)
            } catch {
                attempts.append("\(host.name): \(error.message)")
                last = error
                continue
            }
            let plan: TLSPlan
            do {
                plan = try await tlsPlan(for: host, addressesSecure: addressesSecure)
            } catch {
                attempts.append("\(host.name): \(error.message)")
                last = error
                continue
            }
            for address in addresses {
                guard budget > 0 else { break hostLoop }
                budget -= 1
                do {
                    return try await attempt(host: host, address: address, plan: plan, tlsContext: tlsContext)
                } catch {
                    attempts.append("\(host.name)[\(address)]: \(error.stage): \(error.message)\(error.reply.map { " (\($0))" } ?? "")")
                    last = error
                    if Self.endsTheSearch(error) { throw error }
                    // RFC 7435: opportunistic TLS that fails is retried without it (Postfix does the same).
                    if error.kind == .tlsFailed, case .opportunistic = plan {
                        do {
                            return try await attempt(host: host, address: address, plan: .none, tlsContext: nil)
                        } catch {
                            attempts.append("\(host.name)[\(address)] without TLS: \(error.stage): \(error.message)")
                            last = error
                            if Self.endsTheSearch(error) { throw error }
                        }
                    }
                }
            }
        }
        guard let last else {
            throw SMTPClientError(.lookupFailed, stage: .lookup, "\(destination.target) has no address to connect to")
        }
        guard attempts.count > 1 else { throw last }
        throw SMTPClientError(
            last.kind, stage: last.stage, reply: last.reply, server: last.server,
            "\(last.message); tried \(attempts.count): " + attempts.joined(separator: "; "), partialResult: last.partialResult)
    }

    /// Failures another server would not change.
    static func endsTheSearch(_ error: SMTPClientError) -> Bool {
        error.kind == .authenticationFailed || error.kind == .authenticationUnavailable || error.kind == .tlsConfiguration
            || error.kind == .cancelled || error.kind == .invalidRequest
    }

    // MARK: - Hosts and addresses

    /// The hosts to try, in order.
    func mailHosts() async throws(SMTPClientError) -> [Host] {
        switch destination.target {
        case .address(let address):
            return [Host(name: address, addresses: [address], secureReferral: false)]
        case .host(let name):
            return [Host(name: name, secureReferral: true)]
        case .unixSocket(let path):
            return [Host(name: "localhost", addresses: [path], secureReferral: false)]
        case .mailExchangers(let domain):
            let answer: DNSAnswer<MXRecord>
            do {
                answer = try await configuration.resolver.mx(domain)
            } catch {
                throw SMTPClientError(.lookupFailed, stage: .lookup, "MX lookup for \(domain) failed: \(error.message)")
            }
            guard answer.nameExists else {
                throw SMTPClientError(
                    .noSuchDomain, stage: .lookup, reply: SMTPReply(550, EnhancedStatusCode(5, 1, 2), "Domain \(domain) does not exist"),
                    "\(domain) does not exist (NXDOMAIN)")
            }
            if answer.records.contains(where: \.isNullMX) {
                // RFC 7505 §4.1: the domain accepts no mail.
                throw SMTPClientError(
                    .nullMX, stage: .lookup, reply: SMTPReply(556, EnhancedStatusCode(5, 1, 10), "Recipient address has null MX"),
                    "\(domain) publishes a null MX: it accepts no mail (RFC 7505)")
            }
            guard !answer.records.isEmpty else {
                // RFC 5321 §5.1: no MX records, the domain is its own mail exchanger.
                return [Host(name: domain, secureReferral: answer.isAuthenticated)]
            }
            var records = answer.records
            if let isLocal = configuration.isLocalHostName {
                // RFC 5321 §5.1: this host's own record, and every one not better than it, go.
                var ownPreference: UInt16?
                for record in records where await isLocal(Self.normalized(record.exchange)) {
                    ownPreference = min(ownPreference ?? record.preference, record.preference)
                }
                if let ownPreference {
                    records = records.filter { $0.preference < ownPreference }
                    guard !records.isEmpty else {
                        throw SMTPClientError(
                            .mailLoops, stage: .lookup,
                            reply: SMTPReply(554, EnhancedStatusCode(5, 3, 5), "MX list for \(domain) points back to \(configuration.hostname)"),
                            "the best mail exchanger of \(domain) is this host (preference \(ownPreference)): delivering would loop")
                    }
                }
            }
            return Self.shuffledByPreference(records).map {
                Host(name: $0.exchange, mxPreference: $0.preference, secureReferral: answer.isAuthenticated)
            }
        }
    }

    /// A host name as class `w` holds it: lower case, no final dot.
    static func normalized(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }

    /// MX records in preference order, those of equal preference in random order (RFC 5321 §5.1).
    static func shuffledByPreference(_ records: [MXRecord]) -> [MXRecord] {
        var groups: [UInt16: [MXRecord]] = [:]
        for record in records { groups[record.preference, default: []].append(record) }
        return groups.keys.sorted().flatMap { groups[$0]!.shuffled() }
    }

    /// The host's addresses, IPv6 and IPv4 interleaved (RFC 5321 §5.1: every address of a host
    /// before the next host), and whether the answers that gave them were DNSSEC-authenticated.
    func addresses(of host: Host) async throws(SMTPClientError) -> (addresses: [String], secure: Bool) {
        if let known = host.addresses { return (known, false) }
        if host.name.lowercased() == "localhost" || host.name.lowercased().hasSuffix(".localhost") {
            // RFC 6761 §6.3: localhost names are the loopback addresses, whatever DNS says.
            return (["::1", "127.0.0.1"], false)
        }
        let resolver = configuration.resolver
        let name = host.name
        async let six = Self.lookup { () async throws(MailMapError) in try await resolver.ipv6Addresses(name) }
        async let four = Self.lookup { () async throws(MailMapError) in try await resolver.ipv4Addresses(name) }
        let (v6, v4) = await (six, four)
        switch (v6, v4) {
        case (.failure(let error), .failure):
            throw SMTPClientError(.lookupFailed, stage: .lookup, "address lookup for \(name) failed: \(error.message)")
        default:
            let six = (try? v6.get())?.records ?? []
            let four = (try? v4.get())?.records ?? []
            var merged: [String] = []
            for index in 0..<max(six.count, four.count) {
                if index < six.count { merged.append(six[index]) }
                if index < four.count { merged.append(four[index]) }
            }
            guard !merged.isEmpty else {
                let exists = (try? v4.get())?.nameExists ?? true || (try? v6.get())?.nameExists ?? true
                if !exists, host.mxPreference == nil {
                    throw SMTPClientError(.noSuchDomain, stage: .lookup, "\(name) does not exist (NXDOMAIN)")
                }
                throw SMTPClientError(.lookupFailed, stage: .lookup, "\(name) has no A or AAAA record")
            }
            let secure = [v6, v4].allSatisfy { answer in
                guard case .success(let answer) = answer else { return false }
                return answer.records.isEmpty || answer.isAuthenticated
            }
            return (merged, secure)
        }
    }

    static func lookup(_ body: () async throws(MailMapError) -> DNSAnswer<String>) async -> Result<DNSAnswer<String>, MailMapError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    // MARK: - TLS

    /// The TLS context: the configured one, or one loaded from ``SMTPClientConfiguration/tls`` on
    /// a thread pool (CA files are read from disk), kept for the next connection with the same
    /// settings.
    func loadTLSContext() async throws(SMTPClientError) -> TLSClientContext? {
        guard destination.tls.level != .none else { return nil }
        if let context = configuration.tlsContext { return context }
        var tls = configuration.tls
        tls.handshakeTimeout = configuration.timeouts[.tlsHandshake]
        if let cached = Self.contexts.withLock({ $0[tls] }) { return cached }
        let settings = tls
        do {
            let context = try await NIOThreadPool.singleton.runIfActive { try TLSClientContext(configuration: settings) }
            Self.contexts.withLock { cache in
                if cache.count >= 8 { cache.removeAll() }
                cache[settings] = context
            }
            return context
        } catch {
            throw SMTPClientError(.tlsConfiguration, stage: .connect, "the TLS settings cannot be used: \(error)")
        }
    }

    private static let contexts = Mutex<[TLSConfiguration: TLSClientContext]>([:])

    /// How TLS goes with `host` under the destination's policy.
    func tlsPlan(for host: Host, addressesSecure: Bool) async throws(SMTPClientError) -> TLSPlan {
        let policy = destination.tls
        switch policy.level {
        case .none:
            return .none
        case .opportunistic:
            return .opportunistic
        case .required:
            switch policy.verification {
            case .hostName(let also):
                return .required(.certificateAuthorityAndHostName([host.name] + also))
            case .certificateAuthority:
                return .required(.certificateAuthority)
            case .encryptOnly:
                return .required(.none)
            }
        case .dane:
            return try await danePlan(for: host, addressesSecure: addressesSecure)
        }
    }

    // MARK: - One attempt

    /// Connects to `address` and opens the session; returns once it is ready for MAIL.
    func attempt(host: Host, address: String, plan: TLSPlan, tlsContext: TLSClientContext?) async throws(SMTPClientError) -> SMTPClientConnection {
        let isSocket: Bool
        if case .unixSocket = destination.target { isSocket = true } else { isSocket = false }
        let port = isSocket ? 0 : destination.port
        let machinePolicy: SMTPClientStateMachine.TLSPolicy
        let verification: TLSPeerVerification
        switch plan {
        case .none:
            machinePolicy = .never
            verification = .none
        case .opportunistic:
            machinePolicy = .opportunistic
            verification = .none
        case .required(let check):
            machinePolicy = .required
            verification = check
        }
        let implicit = destination.usesImplicitTLS && tlsContext != nil && !isNone(plan)
        let machineConfiguration = SMTPClientStateMachine.Configuration(
            hostname: configuration.hostname, dialect: destination.dialect, tlsPolicy: machinePolicy, tlsActive: implicit,
            wantsAuthentication: destination.credentials != nil, prefersChunking: configuration.prefersChunking,
            chunkSize: configuration.chunkSize, limits: configuration.limits)
        let settings = SMTPSessionSettings(
            host: host.name, address: address, port: port, mxPreference: host.mxPreference, tlsContext: tlsContext,
            verification: verification, credentials: destination.credentials, timeouts: configuration.timeouts,
            threadPool: NIOThreadPool.singleton, transcript: configuration.transcript)
        let server = settings.serverDescription

        let socketAddress: SocketAddress
        do {
            socketAddress = isSocket
                ? try SocketAddress(unixDomainSocketPath: address)
                : try SocketAddress(ipAddress: address, port: port)
        } catch {
            throw SMTPClientError(.connectionFailed, stage: .connect, server: server, "\(address) is not an address to connect to: \(error)")
        }
        let eventLoop = configuration.eventLoopGroup.next()
        let opened = eventLoop.makePromise(of: SMTPServerInfo.self)
        // The handler, kept as the initializer makes it: a session can end before `connect` returns.
        let made = Mutex<NIOLoopBound<SMTPClientSessionHandler>?>(nil)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.timeouts.connect))
            .channelOption(.socketOption(.tcp_nodelay), value: isSocket ? 0 : 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<TLSSessionFacts>?
                    if implicit, let tlsContext {
                        let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
                        let tls = try TLSHandler(
                            clientContext: tlsContext, serverName: settings.serverName, verification: verification,
                            handshakePromise: promise)
                        try channel.pipeline.syncOperations.addHandler(tls)
                        handshake = promise.futureResult
                    }
                    let handler = SMTPClientSessionHandler(
                        configuration: machineConfiguration, settings: settings, openPromise: opened, implicitHandshake: handshake)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    made.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }

        let channel: any Channel
        do {
            channel = try await withTaskCancellationHandler {
                try await bootstrap.connect(to: socketAddress).get()
            } onCancel: {
                opened.fail(CancellationError())
            }
        } catch {
            opened.fail(error)
            if Task.isCancelled {
                throw SMTPClientError(.cancelled, stage: .connect, server: server, "the task was cancelled")
            }
            throw SMTPClientError(.connectionFailed, stage: .connect, server: server, "cannot connect: \(error)")
        }

        guard let handler = made.withLock({ $0 }) else {
            channel.close(promise: nil)
            throw SMTPClientError(.connectionFailed, stage: .connect, server: server, "the connection was set up without its session")
        }
        let info: SMTPServerInfo
        do {
            info = try await withTaskCancellationHandler {
                try await opened.futureResult.get()
            } onCancel: {
                eventLoop.execute { handler.value.cancel() }
            }
        } catch let error as SMTPClientError {
            channel.close(promise: nil)
            throw error
        } catch {
            channel.close(promise: nil)
            if Task.isCancelled || error is CancellationError {
                throw SMTPClientError(.cancelled, stage: .greeting, server: server, "the task was cancelled")
            }
            throw SMTPClientError(.connectionLost, stage: .greeting, server: server, "\(error)")
        }
        return SMTPClientConnection(channel: channel, handler: handler, server: info, destination: destination, configuration: configuration)
    }

    private func isNone(_ plan: TLSPlan) -> Bool {
        if case .none = plan { return true }
        return false
    }
}
