import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TesseraCore

/// One connection to Redis, authenticated (`AUTH`) and on its database (`SELECT`)
/// before it is handed out. Commands may be sent from many tasks at once: they are
/// pipelined and each gets its own reply (FIFO, as Redis answers).
///
/// A command that gets no reply within its timeout fails with `.timeout` and closes
/// the connection (the replies' order is lost); an error reply throws a `RedisError`
/// of kind `.server`, `.outOfMemory` or `.authentication`.
package final class RedisConnection: RedisCommandRunner, Sendable {
    package struct Configuration: Sendable {
        package var url: RedisURL
        /// How long a command may wait for its reply.
        package var commandTimeout: Duration
        /// How long connecting may take: TCP, TLS, AUTH and SELECT together.
        package var connectTimeout: Duration
        /// For `rediss://`: whom to trust. The default trusts the system's roots and
        /// checks the host name (ElastiCache's certificates pass).
        package var tls: TLSConfiguration

        package init(
            url: RedisURL,
            commandTimeout: Duration = .milliseconds(100),
            connectTimeout: Duration = .seconds(1),
            tls: TLSConfiguration = .makeClientConfiguration()
        ) {
            self.url = url
            self.commandTimeout = commandTimeout
            self.connectTimeout = connectTimeout
            self.tls = tls
        }
    }

    private let channel: any Channel
    private let commandTimeout: TimeAmount

    private init(channel: any Channel, commandTimeout: Duration) {
        self.channel = channel
        self.commandTimeout = TimeAmount(commandTimeout)
    }

    /// Connects, authenticates and selects the database, all within `connectTimeout`.
    package static func connect(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(RedisError) -> RedisConnection {
        let sslContext: NIOSSLContext?
        if configuration.url.tls {
            do {
                sslContext = try NIOSSLContext(configuration: configuration.tls)
            } catch {
                throw RedisError(.connection, "Could not set up TLS for Redis: \(error)")
            }
        } else {
            sslContext = nil
        }
        return try await self.connect(configuration: configuration, sslContext: sslContext, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// As above, with a TLS context made once for many connections.
    static func connect(
        configuration: Configuration,
        sslContext: NIOSSLContext?,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws(RedisError) -> RedisConnection {
        let url = configuration.url
        let start = ContinuousClock.now
        let serverHostname = Self.isIPAddress(url.host) ? nil : url.host
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    try pipeline.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try pipeline.addHandler(MessageToByteHandler(RESPEncoder()))
                    try pipeline.addHandler(RedisCommandHandler())
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch {
            throw RedisError(.connection, "Could not connect to Redis at \(url.host):\(url.port): \(Self.reason(error)).")
        }
        let connection = RedisConnection(channel: channel, commandTimeout: configuration.commandTimeout)
        let remaining = max(configuration.connectTimeout - (ContinuousClock.now - start), .milliseconds(1))
        do {
            if let password = url.password {
                let auth: RedisCommand = url.username.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)]
                _ = try await connection.send(auth, timeout: remaining)
            }
            if url.database != 0 {
                _ = try await connection.send(["SELECT", .integer(Int64(url.database))], timeout: remaining)
            }
        } catch {
            await connection.close()
            if error.kind == .timeout {
                throw RedisError(
                    .connection,
                    "Redis at \(url.host):\(url.port) did not finish the handshake within \(configuration.connectTimeout.milliseconds) ms."
                )
            }
            throw error
        }
        logger.debug("Connected to Redis", metadata: ["redis.url": "\(url)"])
        return connection
    }

    /// Sends one command and waits for its reply, at most the command timeout.
    package func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await self.send(command, timeout: self.commandTimeout)
    }

    /// Sends one command and waits for its reply, at most `timeout`.
    package func send(_ command: RedisCommand, timeout: Duration) async throws(RedisError) -> RESPValue {
        try await self.send(command, timeout: TimeAmount(timeout))
    }

    private func send(_ command: RedisCommand, timeout: TimeAmount) async throws(RedisError) -> RESPValue {
        let promise = self.channel.eventLoop.makePromise(of: RESPValue.self)
        let written = self.channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            // Never reached the handler (the channel had closed); a handler failure has failed `promise` already.
            promise.fail((error as? RedisError) ?? RedisError(.connection, "The connection to Redis is closed."))
        }
        self.channel.writeAndFlush(RedisCommandHandler.Request(command: command, promise: promise, timeout: timeout), promise: written)
        let reply: RESPValue
        do {
            reply = try await promise.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connection, "The connection to Redis failed: \(error)")
        }
        if case .error(let message) = reply {
            throw RedisError(serverReply: message)
        }
        return reply
    }

    /// Whether the connection is open (a closed one never reopens).
    package var isActive: Bool { self.channel.isActive }

    /// Whether the caller runs on this connection's event loop: a command sent from
    /// there is written and answered without waking another thread.
    package var isOnCurrentEventLoop: Bool { self.channel.eventLoop.inEventLoop }

    /// Closes the connection; commands in flight fail with `.connection`.
    package func close() async {
        try? await self.channel.close()
    }

    /// Returns once the connection has closed, for whatever reason. Cancelling the
    /// waiting task closes it.
    package func closed() async {
        await withTaskCancellationHandler {
            try? await self.channel.closeFuture.get()
        } onCancel: {
            self.channel.close(promise: nil)
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    /// A short reason for a failed connect, without NIO's internals.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return "\(first.error)" }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve the host (\(dns))" }
            return "no address to connect to"
        }
        if let error = error as? ChannelError, case .connectTimeout(let timeout) = error {
            return "no connection within \(timeout.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}
