import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The Prometheus text endpoint of `swiftmta serve` (`[daemon] metrics_address`): `GET /metrics`
/// over HTTP/1.1 on a loopback address, answered with the text exposition format (0.0.4).
///
/// It has no authentication and answers nothing but the metrics, so it binds loopback only (the
/// configuration refuses any other address); a scraper on another host goes through a proxy that
/// authenticates. Before each answer the sampler refreshes what is read rather than counted (the
/// spool's size and oldest message, the worker pools' load), off the event loop.
struct MetricsEndpoint: Service, CustomStringConvertible {
    /// How swift-service-lifecycle's log lines name it.
    var description: String { "MetricsEndpoint" }

    let channel: any Channel
    private let logger: Logger

    /// The address it listens on (port 0 configured: the one the system chose).
    var localAddress: SocketAddress? { channel.localAddress }

    /// Binds `host:port`.
    ///
    /// - Throws: ``ServerStartError`` naming the address when it cannot be bound.
    static func bind(
        host: String, port: Int, exposition: MetricsExposition, sampler: MetricsSampler,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws(ServerStartError) -> MetricsEndpoint {
        do {
            let channel = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
                        try channel.pipeline.syncOperations.addHandler(
                            MetricsRequestHandler(exposition: exposition, sampler: sampler))
                    }
                }
                .bind(host: host, port: port).get()
            return MetricsEndpoint(channel: channel, logger: logger)
        } catch {
            let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            throw ServerStartError(address: address, reason: "metrics endpoint: " + SMTPServer.reason(error))
        }
    }

    /// Serves until the group shuts down gracefully or the task is cancelled, then closes the
    /// listening socket (a scrape in progress still gets its answer).
    func run() async throws {
        let channel = channel
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        logger.debug("metrics endpoint closed")
    }
}

/// One HTTP connection to the endpoint: each `GET /metrics` (or `HEAD`) gets the exposition, any
/// other path 404 and any other method 405; keep-alive as the client asks.
private final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exposition: MetricsExposition
    private let sampler: MetricsSampler
    private var request: HTTPRequestHead?

    init(exposition: MetricsExposition, sampler: MetricsSampler) {
        self.exposition = exposition
        self.sampler = sampler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            return respond(.notFound, body: Array("not found: the metrics are at /metrics\n".utf8), head: head, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return respond(.methodNotAllowed, body: Array("only GET and HEAD\n".utf8), head: head, context: context)
        }
        let exposition = exposition
        let sampler = sampler
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        Task {
            await sampler.sample()
            let body = exposition.render()
            loop.execute {
                let (handler, context) = bound.value
                handler.respond(.ok, body: body, head: head, context: context,
                                contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        }
    }

    private func respond(
        _ status: HTTPResponseStatus, body: [UInt8], head: HTTPRequestHead, context: ChannelHandlerContext,
        contentType: String = "text/plain; charset=utf-8"
    ) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
