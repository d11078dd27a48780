import MailAuth
import TestSupport
import Testing

@Suite("Policy and brute-force damping")
struct SASLPolicyTests {
    // The seed's server: confAUTH_MECHANISMS and TRUST_AUTH_MECH `LOGIN PLAIN DIGEST-MD5 CRAM-MD5`,
    // confAUTH_OPTIONS `p`.
    static let seed = SASLPolicy(
        mechanisms: [.login, .plain, .digestMD5, .cramMD5],
        trustedMechanisms: [.login, .plain, .digestMD5, .cramMD5],
        options: [.noPlaintextWithoutTLS])

    @Test("AUTH_OPTIONS p: no plaintext mechanism before TLS, all four after")
    func plaintextOnlyAfterTLS() {
        let available = SASLNativeServer.allMechanisms
        #expect(Self.seed.offeredMechanisms(available: available, context: SASLServerContext(isSecure: false)) == [.digestMD5, .cramMD5])
        #expect(
            Self.seed.offeredMechanisms(available: available, context: SASLServerContext(isSecure: true))
                == [.login, .plain, .digestMD5, .cramMD5])
        #expect(!Self.seed.permits(.plain, context: SASLServerContext()))
        #expect(!Self.seed.permits(.scramSHA256, context: SASLServerContext(isSecure: true)), "not in confAUTH_MECHANISMS")
    }

    @Test("TRUST_AUTH_MECH decides relaying")
    func trusted() {
        #expect(Self.seed.isTrusted(.cramMD5))
        #expect(!Self.seed.isTrusted(.scramSHA256))
    }

    @Test("-PLUS needs channel-binding data and EXTERNAL an external identity")
    func sessionBound() {
        let policy = SASLPolicy()
        let available = SASLNativeServer.allMechanisms
        let plain = policy.offeredMechanisms(available: available, context: SASLServerContext(isSecure: true))
        #expect(!plain.contains(.scramSHA256Plus))
        #expect(!plain.contains(.external))
        let tls = policy.offeredMechanisms(
            available: available,
            context: SASLServerContext(isSecure: true, channelBinding: .tlsExporter([1, 2, 3]), externalIdentity: "alice"))
        #expect(tls.first == .scramSHA256Plus)
        #expect(tls.contains(.external))
    }

    static let flagExamples: [(String, SASLAuthOptions)] = [
        ("p", [.noPlaintextWithoutTLS]), ("p,y", [.noPlaintextWithoutTLS, .noAnonymous]),
        ("A p d", [.authParameterOnlyWhenAuthenticated, .noPlaintextWithoutTLS, .noDictionary]), ("", []),
    ]

    @Test("Sendmail's AUTH_OPTIONS letters", arguments: flagExamples)
    func sendmailFlags(text: String, expected: SASLAuthOptions) throws {
        #expect(try SASLAuthOptions(sendmailFlags: text) == expected)
    }

    @Test("an unknown AUTH_OPTIONS letter is a configuration error naming it")
    func unknownFlag() {
        let error = #expect(throws: SASLError.self) { try SASLAuthOptions(sendmailFlags: "pz") }
        #expect(error?.message.contains("`z`") == true)
    }

    @Test("d and m leave only mechanisms with those protections")
    func strictOptions() throws {
        let policy = SASLPolicy(options: try SASLAuthOptions(sendmailFlags: "m"))
        let offered = policy.offeredMechanisms(available: SASLNativeServer.allMechanisms, context: SASLServerContext(isSecure: true))
        #expect(Set(offered) == [.scramSHA256, .scramSHA1, .digestMD5])
        let noDictionary = SASLPolicy(options: try SASLAuthOptions(sendmailFlags: "d"))
        #expect(noDictionary.offeredMechanisms(
            available: SASLNativeServer.allMechanisms,
            context: SASLServerContext(isSecure: true, externalIdentity: "alice")) == [.external])
    }

    @Test("the delay grows with each failure, up to the cap, and success resets it")
    func damping() {
        var damping = SASLFailureDamping()
        let start = ContinuousClock.now
        let delays = (0..<8).map { damping.recordFailure(client: "192.0.2.1", now: start + .seconds($0)) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30), .seconds(30)])
        #expect(damping.failures(client: "192.0.2.1", now: start + .seconds(8)) == 8)
        #expect(damping.recordFailure(client: "192.0.2.2", now: start) == .seconds(1), "per client")
        damping.recordSuccess(client: "192.0.2.1")
        #expect(damping.recordFailure(client: "192.0.2.1", now: start + .seconds(9)) == .seconds(1))
    }

    @Test("failures are forgotten after the quiet period")
    func forgetting() {
        var damping = SASLFailureDamping(configuration: .init(forgetAfter: .seconds(60)))
        let start = ContinuousClock.now
        _ = damping.recordFailure(client: "a", now: start)
        _ = damping.recordFailure(client: "a", now: start + .seconds(10))
        #expect(damping.failures(client: "a", now: start + .seconds(71)) == 0)
        #expect(damping.recordFailure(client: "a", now: start + .seconds(71)) == .seconds(1))
    }

    @Test("memory stays bounded under failures from many addresses")
    func bounded() async throws {
        let start = ContinuousClock.now
        let damping = try await offThread {
            var damping = SASLFailureDamping(configuration: .init(maximumClients: 100))
            for index in 0..<10_000 {
                _ = damping.recordFailure(client: "198.51.100.\(index)", now: start + .milliseconds(index))
            }
            return damping
        }
        #expect(damping.trackedClients <= 100)
        #expect(damping.failures(client: "198.51.100.9999", now: start + .seconds(10)) == 1, "the newest is kept")
    }
}
