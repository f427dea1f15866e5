import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import TesseraCore

/// A pool of connections to one Redis, as a `Service`: `run()` keeps the connections
/// (making them on first use, reconnecting with backoff when they fail) until
/// graceful shutdown or cancellation. Commands wait for `run()` to have started.
///
/// Commands are spread over the connections, pipelined. Each takes at most the
/// command timeout, waiting for a connection included; while every connection is
/// down and backing off, commands fail at once with `.connection` (or
/// `.authentication` when that is why): a cache must never stall its callers.
package final class RedisClient: RedisCommandRunner, Service, Sendable {
    package let configuration: Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<State>
    private let slotsToStart: AsyncStream<Int>
    private let slotsToStartContinuation: AsyncStream<Int>.Continuation

    private struct State {
        var machine: RedisPoolStateMachine<RedisConnection>
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
        var sslContext: NIOSSLContext?
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Result<RedisConnection, RedisError>, Never>
        var timer: Scheduled<Void>
    }

    package init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        var logger = logger
        logger[metadataKey: "redis.url"] = "\(configuration.url)"
        self.logger = logger
        self.state = Mutex(State(machine: RedisPoolStateMachine(connections: configuration.connections)))
        (self.slotsToStart, self.slotsToStartContinuation) = AsyncStream.makeStream(of: Int.self)
    }

    /// Keeps the pool's connections until graceful shutdown or cancellation, then
    /// closes them; commands fail with `.shutdown` from then on. Call it once.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            for await slot in self.slotsToStart.cancelOnGracefulShutdown() {
                group.addTask { await self.maintain(slot: slot) }
            }
            let waiters = self.state.withLock { state in
                state.machine.shutDown().compactMap { state.waiters.removeValue(forKey: $0) }
            }
            for waiter in waiters {
                waiter.timer.cancel()
                waiter.continuation.resume(returning: .failure(RedisPoolStateMachine<RedisConnection>.shutDownError))
            }
            group.cancelAll()
        }
        self.logger.debug("Redis client shut down")
    }

    /// Sends a command on one of the pool's connections, within the command timeout.
    package func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await self.send(command, timeout: self.configuration.commandTimeout)
    }

    /// Sends a command within `timeout` instead of the configured command timeout
    /// (waiting for a connection included).
    package func send(_ command: RedisCommand, timeout: Duration) async throws(RedisError) -> RESPValue {
        let start = ContinuousClock.now
        let connection = try await self.connection(timeout: timeout)
        let remaining = timeout - (ContinuousClock.now - start)
        guard remaining > .zero else {
            throw RedisError(.timeout, "No connection to Redis within \(timeout.milliseconds) ms.")
        }
        return try await connection.send(command, timeout: remaining)
    }

    // MARK: - Leasing

    private func connection(timeout: Duration) async throws(RedisError) -> RedisConnection {
        let (action, start) = self.state.withLock { $0.machine.lease(usable: \.isActive, preferred: \.isOnCurrentEventLoop) }
        for slot in start { self.slotsToStartContinuation.yield(slot) }
        switch action {
        case .use(let connection): return connection
        case .fail(let error): throw error
        case .wait: return try await self.waitForConnection(timeout: timeout)
        }
    }

    /// Waits for a connecting slot, at most `timeout`.
    private func waitForConnection(timeout: Duration) async throws(RedisError) -> RedisConnection {
        let id = self.state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<RedisConnection, RedisError>, Never>) in
                let now: Result<RedisConnection, RedisError>? = self.state.withLock { state in
                    if Task.isCancelled { return .failure(RedisError(.cancelled, "The command was cancelled while it waited for a connection.")) }
                    switch state.machine.lease(usable: \.isActive).action {
                    case .use(let connection): return .success(connection)
                    case .fail(let error): return .failure(error)
                    case .wait:
                        state.machine.addWaiter(id)
                        let timer = self.eventLoopGroup.any().scheduleTask(in: TimeAmount(timeout)) {
                            self.giveUp(waiter: id, RedisError(.timeout, "No connection to Redis within \(timeout.milliseconds) ms."))
                        }
                        state.waiters[id] = Waiter(continuation: continuation, timer: timer)
                        return nil
                    }
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            self.giveUp(waiter: id, RedisError(.cancelled, "The command was cancelled while it waited for a connection."))
        }
        return try result.get()
    }

    private func giveUp(waiter id: Int, _ error: RedisError) {
        let waiter = self.state.withLock { state -> Waiter? in
            guard state.machine.removeWaiter(id) else { return nil }
            return state.waiters.removeValue(forKey: id)
        }
        guard let waiter else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: .failure(error))
    }

    // MARK: - One slot's connection, for the life of `run()`

    /// Connects, serves until the connection closes, reconnects; backs off after failures.
    private func maintain(slot: Int) async {
        var logger = self.logger
        logger[metadataKey: "redis.slot"] = "\(slot)"
        var failures = 0
        while !Task.isCancelled {
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(
                    configuration: self.configuration.connection,
                    sslContext: try self.sslContext(),
                    eventLoopGroup: self.eventLoop(forSlot: slot),
                    logger: logger
                )
            } catch {
                failures += 1
                self.connectFailed(slot: slot, error)
                logger.log(
                    level: failures == 1 ? .warning : .debug,
                    "Could not connect to Redis; retrying with backoff",
                    metadata: ["error.kind": "\(error.kind.rawValue)", "error.message": "\(error.message)", "redis.failures": "\(failures)"]
                )
                guard await self.backOff(after: failures, slot: slot) else { return }
                continue
            }
            if failures > 0 {
                logger.info("Reconnected to Redis", metadata: ["redis.failures": "\(failures)"])
            }
            let waiters = self.state.withLock { state -> [Waiter]? in
                state.machine.connected(slot: slot, connection)?.compactMap { state.waiters.removeValue(forKey: $0) }
            }
            guard let waiters else {
                await connection.close()
                return
            }
            for waiter in waiters {
                waiter.timer.cancel()
                waiter.continuation.resume(returning: .success(connection))
            }
            let connectedAt = ContinuousClock.now
            await connection.closed()
            if Task.isCancelled { return }
            if ContinuousClock.now - connectedAt < .seconds(1) {
                // Lost right after connecting: count it as a failure, so a server that
                // accepts and drops connections is not hammered.
                failures += 1
                self.connectFailed(slot: slot, RedisError(.connection, "The connection to Redis closed right after it was made."))
                logger.debug("Lost a new connection to Redis; backing off", metadata: ["redis.failures": "\(failures)"])
                guard await self.backOff(after: failures, slot: slot) else { return }
            } else {
                failures = 0
                self.state.withLock { $0.machine.disconnected(slot: slot) }
                logger.notice("Lost a connection to Redis; reconnecting")
            }
        }
    }

    private func connectFailed(slot: Int, _ error: RedisError) {
        let waiters = self.state.withLock { state in
            state.machine.connectFailed(slot: slot, error: error).compactMap { state.waiters.removeValue(forKey: $0) }
        }
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.continuation.resume(returning: .failure(error))
        }
    }

    /// Sleeps the backoff, then marks the slot connecting; false when cancelled.
    private func backOff(after failures: Int, slot: Int) async -> Bool {
        let backoff = self.configuration.backoff
        do {
            try await Task.sleep(for: backoff.jittered(backoff.delay(afterFailures: failures)))
        } catch {
            return false
        }
        self.state.withLock { $0.machine.connecting(slot: slot) }
        return true
    }

    /// The slots' connections are spread over the group's event loops in turn, so a
    /// command issued on an event loop (an HTTP handler's, see `EventLoopPinnedChildChannel`)
    /// usually finds a connection on its own thread.
    private func eventLoop(forSlot slot: Int) -> any EventLoop {
        let loops = Array(self.eventLoopGroup.makeIterator())
        return loops.isEmpty ? self.eventLoopGroup.next() : loops[slot % loops.count]
    }

    /// One TLS context for all connections (it loads the trust roots), made on first use.
    private func sslContext() throws(RedisError) -> NIOSSLContext? {
        guard self.configuration.url.tls else { return nil }
        if let context = self.state.withLock({ $0.sslContext }) { return context }
        do {
            let context = try NIOSSLContext(configuration: self.configuration.tls)
            self.state.withLock { $0.sslContext = context }
            return context
        } catch {
            throw RedisError(.connection, "Could not set up TLS for Redis: \(error)")
        }
    }
}
