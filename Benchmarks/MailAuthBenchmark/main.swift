// MailAuth benchmark: complete SASL exchanges per second, MailAuth's native mechanisms against
// Cyrus SASL (libsasl2) in the same run, on the same users, reported as a ratio.
//
//   make bench-auth        (swift run -c release MailAuthBenchmark [seconds-per-case])
//
// Each case runs whole exchanges in memory as an SMTP session would carry them: MailAuth's client
// against MailAuth's server over a password file, and libsasl2's client against libsasl2's server
// (through CyrusSASLServer, which runs libsasl2 on MailAuth's own threads, as a server would)
// over a sasldb2 made by saslpasswd2. Both stores hold the same plaintext password, so SCRAM
// derives its keys (4,096 PBKDF2 iterations) on every exchange on both sides. The stores differ as
// deployed: MailAuth's password file is parsed once into memory; libsasl2 reads sasldb2 (Berkeley
// DB) on every lookup.

import Foundation
import MailAuth

let secondsPerCase = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 2.0
let serverName = "mx.example.test"
let user = "alice", password = "wonder land"

func makeSasldb() throws -> (directory: String, path: String) {
    let directory = NSTemporaryDirectory() + "mailauth-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/sasldb2"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/saslpasswd2")
    process.arguments = ["-p", "-c", "-f", path, "-a", "swiftmta", "-u", serverName, user]
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data(password.utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw SASLError(.configuration, "saslpasswd2 failed") }
    return (directory, path)
}

func exchange(client: inout any SASLClientMechanism, server: inout any SASLServerMechanism) async throws {
    var step = try await server.start(initialResponse: try client.start())
    while true {
        switch step {
        case .challenge(let challenge):
            step = try await server.step(try await client.step(challenge))
        case .success(_, let data):
            if let data { _ = try await client.step(data) }
            try client.finish(additionalData: nil)
            return
        }
    }
}

func measure(_ body: () async throws -> Void) async throws -> Double {
    // Warm up, then count exchanges for the time budget.
    for _ in 0..<20 { try await body() }
    let clock = ContinuousClock()
    let start = clock.now
    var count = 0
    while clock.now - start < .milliseconds(Int(secondsPerCase * 1000)) {
        try await body()
        count += 1
    }
    let elapsed = clock.now - start
    return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func nativeClient(_ mechanism: SASLMechanismName) -> any SASLClientMechanism {
    let credentials = SASLClientCredentials(authenticationIdentity: user, password: SASLSecret(password))
    switch mechanism {
    case .plain: return PlainClientMechanism(credentials: credentials)
    case .cramMD5: return CRAMMD5ClientMechanism(credentials: credentials)
    case .digestMD5: return DigestMD5ClientMechanism(credentials: credentials, host: serverName)
    default: return SCRAMClientMechanism(hashFunction: .sha256, credentials: credentials)
    }
}

let (directory, sasldb) = try makeSasldb()
defer { try? FileManager.default.removeItem(atPath: directory) }
// The same SCRAM iteration count on both sides (libsasl2 2.1.28 defaults to 10,000).
let cyrus = try CyrusSASLServer(
    configuration: .init(serverName: serverName, sasldbPath: sasldb, options: ["scram_iteration_counter": "4096"]))
let native = SASLNativeServer(
    verifier: try SASLPasswordFile(contents: "\(user): {PLAIN}\(password)"), serverName: serverName)
let context = SASLServerContext(isSecure: true)

print("MailAuth vs Cyrus SASL \(CyrusSASL.version): complete exchanges per second (\(secondsPerCase) s per case)")
print("mechanism        MailAuth     libsasl2    ratio (MailAuth / libsasl2)")
for mechanism in [SASLMechanismName.plain, .cramMD5, .digestMD5, .scramSHA256] {
    let ours = try await measure {
        var client = nativeClient(mechanism)
        var server = try native.makeMechanism(mechanism, context: context)
        try await exchange(client: &client, server: &server)
    }
    let theirs = try await measure {
        var client: any SASLClientMechanism = try CyrusSASLClientMechanism(
            mechanism: mechanism,
            credentials: SASLClientCredentials(authenticationIdentity: user, password: SASLSecret(password)),
            serverName: serverName)
        var server = try cyrus.makeMechanism(mechanism, context: context)
        try await exchange(client: &client, server: &server)
    }
    let name = mechanism.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
    print(String(format: "%@ %10.0f   %10.0f    %.2f", name, ours, theirs, ours / theirs))
}
