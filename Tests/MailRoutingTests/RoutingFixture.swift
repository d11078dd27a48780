import MailMaps
import MailRouting
import SMTPProtocol
import TestSupport

/// A router over tables written to a temporary folder, as a test describes them.
struct RoutingFixture {
    let directory: TemporaryDirectory
    let router: Router

    init(
        configuration: RoutingConfiguration = RoutingConfiguration(hostname: "mx.example.test"),
        localHostNames: [String]? = nil,
        virtusertable: String? = nil,
        access: String? = nil,
        mailertable: String? = nil,
        authinfo: String? = nil,
        aliases: String? = nil,
        localUsers: [String]? = nil,
        relayDomains: [String]? = nil,
        nameserver: String? = nil,
        dnsTimeout: Duration = .seconds(5)
    ) throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-routing")
        var registry = MailMapRegistry.standard
        if let nameserver {
            var resolverConfiguration = DNSResolver.Configuration()
            resolverConfiguration.nameservers = [try DNSResolver.Configuration.Nameserver(parsing: nameserver)]
            resolverConfiguration.timeout = dnsTimeout
            resolverConfiguration.attempts = 1
            registry.resolver = DNSResolver(configuration: resolverConfiguration, threadPool: registry.threadPool)
        }
        func open(_ type: String, _ name: String, _ text: String?) throws -> (any MailMap)? {
            guard let text else { return nil }
            let path = try directory.write(name, text)
            return try registry.open("\(type):\(path)")
        }
        let tables = RoutingTables(
            localHostNames: try open("list", "local-host-names", localHostNames.map { $0.joined(separator: "\n") + "\n" }),
            relayDomains: try open("list", "relay-domains", relayDomains.map { $0.joined(separator: "\n") + "\n" }),
            virtusertable: try open("text", "virtusertable", virtusertable),
            access: try open("text", "access", access),
            mailertable: try open("text", "mailertable", mailertable),
            authinfo: try open("text", "authinfo", authinfo),
            aliases: try open("aliases", "aliases", aliases),
            localUsers: try open("list", "users", localUsers.map { $0.joined(separator: "\n") + "\n" }).map { .map($0) },
            resolver: registry.resolver)
        self.directory = directory
        self.router = Router(configuration: configuration, tables: tables)
    }

    func route(_ text: String) async throws -> RoutingDecision {
        await router.route(try RoutingAddress(parsing: text))
    }

    /// check_rcpt for `recipient` from a client at `address`.
    func rcpt(
        _ recipient: String, from address: String = "192.0.2.55", host: String? = nil, resolution: ClientIdentity.NameResolution? = nil,
        auth: String? = nil, sender: String = "someone@client.example"
    ) async throws -> AccessVerdict {
        let command = try SMTPCommand.parse(Substring("RCPT TO:<\(recipient.trimmingCharacters(in: ["<", ">"]))>"))
        guard case .recipient(let path, _) = command else { fatalError() }
        let client = ClientIdentity(
            address: address, hostName: host, nameResolution: resolution, authenticationMechanism: auth, authenticatedUser: auth == nil ? nil : "amy")
        return await router.checkRecipient(path, sender: ReversePath(mailbox: try Mailbox(parsing: sender)), client: client)
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
