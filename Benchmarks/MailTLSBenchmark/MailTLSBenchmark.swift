// MailTLS benchmark: handshakes per second and bulk MB/s through MailTLS's handlers, side by side
// with OpenSSL's own s_server, s_client and s_time in the same run, reported as ratios.
//
//   make bench-tls          (or: swift run -c release MailTLSBenchmark [seconds] [MiB] [repeats])
//
// Each figure pits one MailTLS side against the OpenSSL tool in the same role, with the same peer:
// - server handshakes/s: `openssl s_time -new` (full handshakes) against our server, then against
//   `openssl s_server`;
// - server bulk MB/s: `openssl s_client` fetching a file from our server, then from `s_server -WWW`;
//   and again with our client as the receiver, since s_client itself caps the rate;
// - client handshakes/s: our client against `s_server`, then `s_time -new` against the same;
// - client bulk MB/s: our client fetching the file from `s_server -WWW`, then `s_client` doing so.
// Both servers and our client run on one event-loop thread, as s_server and s_client run on one.

import Foundation
import MailTLS
import NIOCore
import NIOPosix

@main
struct MailTLSBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        let seconds = arguments.first.flatMap(Double.init) ?? 3
        let mebibytes = arguments.dropFirst().first.flatMap(Int.init) ?? 256
        let repeats = arguments.dropFirst(2).first.flatMap(Int.init) ?? 3
        let bench = try Bench(seconds: seconds, bulkBytes: mebibytes << 20)
        defer { bench.stop() }
        print("MailTLS benchmark: \(OpenSSLLibrary.version), RSA-2048 self-signed, TLSv1.3, loopback,")
        print("\(seconds) s per handshake run, \(mebibytes) MiB per bulk run, one event-loop thread,")
        print("median of \(repeats) alternating runs per side")
        print("")
        print(Row.header)

        let rows: [(String, String, () async throws -> Double, () async throws -> Double)] = [
            ("server handshakes/s", "openssl s_time -new → our server | s_server",
             { try bench.sTime(port: bench.ourPort) }, { try bench.sTime(port: bench.openSSLPort) }),
            ("server bulk MB/s", "openssl s_client ← our server | s_server -WWW",
             { try bench.sClientFetch(port: bench.ourPort) }, { try bench.sClientFetch(port: bench.openSSLPort) }),
            // s_client itself tops out early (it prints every record); our client receives faster,
            // so the servers' sending speed shows better with it as the common receiver.
            ("server bulk MB/s", "our client ← our server | s_server -WWW",
             { try await bench.ourClientFetch(port: bench.ourPort) }, { try await bench.ourClientFetch(port: bench.openSSLPort) }),
            ("client handshakes/s", "our client | s_time -new → s_server",
             { try await bench.ourClientHandshakes(port: bench.openSSLPort) }, { try bench.sTime(port: bench.openSSLPort) }),
            ("client bulk MB/s", "our client | s_client ← s_server -WWW",
             { try await bench.ourClientFetch(port: bench.openSSLPort) }, { try bench.sClientFetch(port: bench.openSSLPort) }),
        ]
        for (name, peers, ours, theirs) in rows {
            // Alternating runs, the median of each side: the machine is shared, and its load drifts.
            var ourRuns: [Double] = []
            var theirRuns: [Double] = []
            for _ in 0..<repeats {
                ourRuns.append(try await ours())
                theirRuns.append(try await theirs())
            }
            print(Row(name, ours: median(ourRuns), theirs: median(theirRuns), peer: peers))
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}

/// One line of the report: our figure, OpenSSL's, and their ratio.
struct Row: CustomStringConvertible {
    static let header = pad("measure", 22) + pad("MailTLS", 12) + pad("OpenSSL", 12) + pad("ratio", 8) + "peers"
    let text: String

    init(_ name: String, ours: Double, theirs: Double, peer: String) {
        let ratio = theirs > 0 ? ours / theirs : 0
        text = Self.pad(name, 22) + Self.pad(String(format: "%.1f", ours), 12) + Self.pad(String(format: "%.1f", theirs), 12)
            + Self.pad(String(format: "%.2f", ratio), 8) + peer
    }

    var description: String { text }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The servers, the files and the measurements.
final class Bench: @unchecked Sendable {
    let seconds: Double
    let bulkBytes: Int
    let directory: String
    let serverContext: TLSServerContext
    let clientContext: TLSClientContext
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var ourPort = 0
    private(set) var openSSLPort = 0
    private var ourServer: (any Channel)?
    private var openSSLServer: Process?

    init(seconds: Double, bulkBytes: Int) throws {
        self.seconds = seconds
        self.bulkBytes = bulkBytes
        directory = NSTemporaryDirectory() + "swiftmta-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pair = try SelfSignedCertificate.generate(hostNames: ["mx.example.test"], keyType: .rsa(bits: 2048))
        try pair.write(certificateFile: directory + "/cert.pem", privateKeyFile: directory + "/key.pem")
        // The bulk file: not compressible matters little (TLS compression is off), but be honest.
        var bytes = [UInt8](repeating: 0, count: bulkBytes)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in bytes.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/bulk.bin"))
        serverContext = try TLSServerContext(certificateChainFile: directory + "/cert.pem", privateKeyFile: directory + "/key.pem")
        clientContext = try TLSClientContext(configuration: .client(caFile: directory + "/cert.pem"))
        try startOurServer(payload: bytes)
        try startOpenSSLServer()
    }

    func stop() {
        ourServer?.close(promise: nil)
        if let openSSLServer, openSSLServer.isRunning {
            kill(openSSLServer.processIdentifier, SIGKILL)
            openSSLServer.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
        try? group.syncShutdownGracefully()
    }

    // MARK: - Servers

    /// Our server: implicit TLS; answers `GET /bulk.bin` like `s_server -WWW` (a one-line header,
    /// then the file, then close), and simply closes when the client does.
    private func startOurServer(payload: [UInt8]) throws {
        let context = serverContext
        let payload = ByteBuffer(bytes: payload)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(serverContext: context))
                    try channel.pipeline.syncOperations.addHandler(BulkResponder(payload: payload))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        ourServer = channel
        ourPort = channel.localAddress?.port ?? 0
    }

    private func startOpenSSLServer() throws {
        openSSLPort = try Self.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_server", "-accept", "127.0.0.1:\(openSSLPort)", "-cert", directory + "/cert.pem",
            "-key", directory + "/key.pem", "-WWW", "-quiet",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        openSSLServer = process
        try Self.waitUntilAccepting(openSSLPort)
    }

    // MARK: - OpenSSL's tools as clients

    /// Full handshakes per second by `openssl s_time -new` against `port`.
    func sTime(port: Int) throws -> Double {
        let start = ContinuousClock.now
        let output = try Self.run("/usr/bin/openssl", [
            "s_time", "-connect", "127.0.0.1:\(port)", "-new", "-time", "\(Int(seconds.rounded(.up)))",
        ])
        let elapsed = Self.seconds(ContinuousClock.now - start)
        // "1987 connections in 4 real seconds, …": the count; the wall time is ours, to the millisecond.
        guard let line = output.split(separator: "\n").first(where: { $0.contains("real seconds") }),
              let count = line.split(separator: " ").first.flatMap({ Double($0) }) else {
            throw BenchError("openssl s_time printed no result: \(output.suffix(300))")
        }
        return count / elapsed
    }

    /// MB/s of `openssl s_client` fetching the bulk file from `port`.
    func sClientFetch(port: Int) throws -> Double {
        let start = ContinuousClock.now
        let received = try Self.runCounting("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-quiet", "-ign_eof",
        ], input: "GET /bulk.bin HTTP/1.0\r\n\r\n")
        let elapsed = Self.seconds(ContinuousClock.now - start)
        guard received >= bulkBytes else {
            throw BenchError("s_client received \(received) bytes from port \(port), expected \(bulkBytes)")
        }
        return Double(received) / elapsed / 1_000_000
    }

    // MARK: - Our client

    /// Full handshakes per second by our client handler against `port`, one connection at a time.
    func ourClientHandshakes(port: Int) async throws -> Double {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        var count = 0
        while ContinuousClock.now < deadline {
            let (channel, handshake) = try await connect(port: port)
            _ = try await handshake.get()
            try await channel.close()
            count += 1
        }
        return Double(count) / Self.seconds(ContinuousClock.now - start)
    }

    /// MB/s of our client handler fetching the bulk file from `port`.
    func ourClientFetch(port: Int) async throws -> Double {
        let start = ContinuousClock.now
        let counter = ByteCounter()
        let (channel, handshake) = try await connect(port: port, counter: counter)
        _ = try await handshake.get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET /bulk.bin HTTP/1.0\r\n\r\n"))
        try await channel.closeFuture.get()
        let elapsed = Self.seconds(ContinuousClock.now - start)
        let received = try await channel.eventLoop.submit { counter.bytes }.get()
        guard received >= bulkBytes else {
            throw BenchError("our client received \(received) bytes, expected \(bulkBytes)")
        }
        return Double(received) / elapsed / 1_000_000
    }

    private func connect(port: Int, counter: ByteCounter? = nil) async throws -> (any Channel, EventLoopFuture<TLSSessionFacts>) {
        let context = clientContext
        return try await ClientBootstrap(group: group)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: TLSSessionFacts.self)
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(
                        clientContext: context, serverName: "mx.example.test",
                        verification: .certificateAuthorityAndHostName(["mx.example.test"]), handshakePromise: promise))
                    try channel.pipeline.syncOperations.addHandler(ByteCountingHandler(counter: counter))
                    return (channel as any Channel, promise.futureResult)
                }
            }
    }

    // MARK: - Processes and sockets

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs a program with `input` and returns how many bytes it wrote on standard output.
    static func runCounting(_ executable: String, _ arguments: [String], input: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        var total = 0
        let reader = output.fileHandleForReading
        while true {
            let chunk = reader.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            total += chunk.count
        }
        process.waitUntilExit()
        return total
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitUntilAccepting(_ port: Int) throws {
        for _ in 0..<500 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if connected == 0 { return }
            usleep(20_000)
        }
        throw BenchError("openssl s_server did not start on port \(port)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Answers `GET` with a header and the payload, then closes (after close_notify, through TLS).
/// Sends as fast as the socket takes it: 256 KiB at a time while the channel is writable.
final class BulkResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let chunk = 256 * 1024
    private var remaining: ByteBuffer
    private var request = ""
    private var state = State.reading

    private enum State {
        case reading
        case sending
        case done
    }

    init(payload: ByteBuffer) {
        self.remaining = payload
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        switch state {
        case .reading:
            request += buffer.readString(length: buffer.readableBytes) ?? ""
            guard request.contains("\r\n\r\n") else { return }
            state = .sending
            context.write(wrapOutboundOut(ByteBuffer(string: "HTTP/1.0 200 ok\r\nContent-type: application/octet-stream\r\n\r\n")), promise: nil)
            sendMore(context: context)
        case .sending, .done:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sendMore(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func sendMore(context: ChannelHandlerContext) {
        switch state {
        case .reading, .done:
            return
        case .sending:
            break
        }
        while context.channel.isWritable, let slice = remaining.readSlice(length: min(Self.chunk, remaining.readableBytes)),
              slice.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(slice), promise: nil)
        }
        if remaining.readableBytes == 0 {
            state = .done
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Counts the plaintext a client receives.
final class ByteCounter: @unchecked Sendable {
    /// Touched on the channel's event loop only.
    var bytes = 0
}

final class ByteCountingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let counter: ByteCounter?

    init(counter: ByteCounter?) {
        self.counter = counter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        counter?.bytes += unwrapInboundIn(data).readableBytes
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
