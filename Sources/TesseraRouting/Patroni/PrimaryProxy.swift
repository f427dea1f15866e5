import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TesseraCore

/// A TCP proxy on 127.0.0.1 to whichever node Patroni says leads: the server's pools, its
/// COPY connections and its heartbeat connect here, so writes follow the primary through a
/// failover without anything in the write path knowing of it. This is what HAProxy does in
/// front of Patroni (a health check on each node's REST API, `on-marked-down
/// shutdown-sessions`), inside the server.
///
/// - A new connection is joined to the leader's PostgreSQL. While there is no leader, or the
///   one Patroni names cannot be reached (its node died and its key has not expired), the
///   connection waits, up to `holdTimeout`, for one that can: the pools see a slow connect
///   instead of a refusal, and do not back off.
/// - When the leader changes, every session to the old one is closed: a query on it fails
///   (the write path settles and stages again, reads retry), and no connection stays on a
///   node that is no longer primary.
package final class PrimaryProxy: Service, Sendable {
    package struct Configuration: Sendable {
        package var host: String
        /// 0: any free port (`start()` answers which).
        package var port: Int
        /// How long a new connection waits for a reachable leader before it is closed. Under
        /// PostgresNIO's connect timeout (10 s), which counts from the TCP connect.
        package var holdTimeout: Duration
        /// One attempt to reach the leader.
        package var connectTimeout: Duration

        package init(host: String = "127.0.0.1", port: Int = 0, holdTimeout: Duration = .seconds(8), connectTimeout: Duration = .seconds(1)) {
            self.host = host
            self.port = port
            self.holdTimeout = holdTimeout
            self.connectTimeout = connectTimeout
        }
    }

    struct Session: Sendable {
        var leader: PatroniView.Address
        var client: any Channel
        var server: any Channel
    }

    let configuration: Configuration
    let watcher: PatroniWatcher
    let logger: Logger
    private let listener = Mutex<(any Channel)?>(nil)
    private let sessions = Mutex<[ObjectIdentifier: Session]>([:])
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    package init(configuration: Configuration = .init(), watcher: PatroniWatcher, logger: Logger) {
        self.configuration = configuration
        self.watcher = watcher
        self.logger = logger
        watcher.onChange { [weak self] view in self?.leaderMayHaveChanged(view) }
    }

    /// Listens, and answers the port (before `run`, so the pools can be built on it).
    package func start() async throws -> Int {
        if let bound = self.listener.withLock({ $0 }), let port = bound.localAddress?.port { return port }
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                self?.accept(channel)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: self.configuration.host, port: self.configuration.port)
            .get()
        self.listener.withLock { $0 = channel }
        return channel.localAddress?.port ?? self.configuration.port
    }

    package func run() async throws {
        _ = try await self.start()
        // The last service to stop: the pools' final queries (the last flush) go through it.
        try? await gracefulShutdown()
        let listener = self.listener.withLock { $0 }
        try? await listener?.close()
        for session in self.sessions.withLock({ Array($0.values) }) {
            session.client.close(promise: nil)
        }
    }

    /// Sessions joined now, per leader address (for tests and metrics).
    package var sessionsByLeader: [PatroniView.Address: Int] {
        self.sessions.withLock { sessions in
            sessions.values.reduce(into: [:]) { $0[$1.leader, default: 0] += 1 }
        }
    }

    private func accept(_ client: any Channel) {
        // Not `isActive`: the channel is not active yet while it is being initialised.
        let closed = Atomic(false)
        client.closeFuture.whenComplete { _ in closed.store(true, ordering: .relaxed) }
        Task {
            let deadline = ContinuousClock.now + self.configuration.holdTimeout
            var lastError: (any Error)?
            while !closed.load(ordering: .relaxed), ContinuousClock.now < deadline {
                guard let leader = self.watcher.leader else {
                    try? await Task.sleep(for: .milliseconds(100))
                    continue
                }
                do {
                    try await self.join(client, to: leader)
                    return
                } catch is JoinAbandoned {
                    return
                } catch {
                    lastError = error
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            guard !closed.load(ordering: .relaxed) else { return }
            self.logger.warning(
                "No primary to join a connection to",
                metadata: ["leader": "\(self.watcher.leader.map(\.description) ?? "none")", "error": "\(lastError.map { "\($0)" } ?? "none")"]
            )
            client.close(promise: nil)
        }
    }

    private func join(_ client: any Channel, to leader: PatroniView.Address) async throws {
        let server = try await ClientBootstrap(group: client.eventLoop)
            .connectTimeout(TimeAmount(self.configuration.connectTimeout))
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: leader.host, port: leader.port)
            .get()
        // Recorded before the leader is checked again: a change of leader from here on
        // either finds this session and closes it, or is seen by the check below.
        let key = ObjectIdentifier(client)
        self.sessions.withLock { $0[key] = Session(leader: leader, client: client, server: server) }
        guard self.watcher.leader == leader else {
            self.sessions.withLock { _ = $0.removeValue(forKey: key) }
            server.close(promise: nil)
            throw TesseraError(.unavailable, "the leader changed while connecting")
        }
        do {
            try await client.eventLoop.submit {
                let (clientSide, serverSide) = GlueHandler.matchedPair()
                try client.pipeline.syncOperations.addHandler(clientSide)
                try server.pipeline.syncOperations.addHandler(serverSide)
            }.get()
        } catch {
            // One side closed while joining: nothing more can go through this client.
            self.sessions.withLock { _ = $0.removeValue(forKey: key) }
            server.close(promise: nil)
            client.close(promise: nil)
            throw JoinAbandoned()
        }
        client.closeFuture.whenComplete { [weak self] _ in
            server.close(promise: nil)
            _ = self?.sessions.withLock { $0.removeValue(forKey: key) }
        }
        server.closeFuture.whenComplete { _ in client.close(promise: nil) }
        // Reads start once both sides are joined: nothing the client sent first is lost.
        try await client.setOption(.autoRead, value: true).get()
        try await server.setOption(.autoRead, value: true).get()
    }

    /// The client went away while it was being joined.
    struct JoinAbandoned: Error {}

    /// Closes every session to a node that no longer leads (a new leader is named).
    private func leaderMayHaveChanged(_ view: PatroniView) {
        guard let leader = view.leader?.address else { return }
        let stale = self.sessions.withLock { sessions in sessions.values.filter { $0.leader != leader } }
        guard !stale.isEmpty else { return }
        self.logger.notice("Closing connections to the former primary", metadata: ["sessions": "\(stale.count)", "leader": "\(leader)"])
        for session in stale {
            session.client.close(promise: nil)
            session.server.close(promise: nil)
        }
    }
}
