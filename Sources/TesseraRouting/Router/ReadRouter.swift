import Logging
import PostgresNIO
import Synchronization
import TesseraCore

/// Sends each read to a node chosen by its consistency (`RoutingPolicy`), with a
/// circuit breaker per node and one retry on another node when the chosen one
/// fails. The lag monitor keeps each node's lag and replay position current.
package final class ReadRouter: Sendable {
    package struct Configuration: Sendable {
        package var policy: RoutingPolicy.Configuration
        package var breaker: CircuitBreaker<ServiceClock.Instant>.Configuration
        /// Waiting longer than this for a connection to a node counts as the node failing.
        package var leaseTimeout: Duration
        /// `statement_timeout` per consistency class, in milliseconds: past it the
        /// server cancels the query and the client gets a 504.
        package var statementTimeoutMilliseconds: [Consistency: Int]
        /// When the primary is the last node a read can try and it is down, the read tries it
        /// again (every 250 ms) for this long: a planned switchover (about 2 s) or a failover
        /// is waited out instead of answered with a 503.
        package var primaryPatience: Duration

        package init(
            policy: RoutingPolicy.Configuration = .init(),
            breaker: CircuitBreaker<ServiceClock.Instant>.Configuration = .init(),
            leaseTimeout: Duration = .seconds(1),
            statementTimeoutMilliseconds: [Consistency: Int] = [.strong: 5_000, .eventual: 2_000, .analytics: 30_000],
            primaryPatience: Duration = .zero
        ) {
            self.policy = policy
            self.breaker = breaker
            self.leaseTimeout = leaseTimeout
            self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
            self.primaryPatience = primaryPatience
        }
    }

    struct NodeState: Sendable {
        var breaker: CircuitBreaker<ServiceClock.Instant>
        var lagMilliseconds: Double?
        var replayed: LogSequenceNumber?
        /// The last lag measured, and when: what the lag metric grows from while the node is unreachable.
        var lastLag: (at: ServiceClock.Instant, milliseconds: Double)?
        /// Reads waiting for a connection of the node's pool, and holding one.
        var waiting = 0
        var inUse = 0
    }

    /// A read's result and where it came from.
    package struct Served<Value: Sendable>: Sendable {
        package var value: Value
        package var source: ReadSource
        /// Time spent on the node that answered (lease and queries), for `Server-Timing`.
        package var databaseTime: Duration

        package init(value: Value, source: ReadSource, databaseTime: Duration) {
            self.value = value
            self.source = source
            self.databaseTime = databaseTime
        }
    }

    package let nodes: [ReadNode]
    package let configuration: Configuration
    let policy: RoutingPolicy
    let clock: ServiceClock
    let logger: Logger
    let metrics: RouterMetrics
    let startedAt: ServiceClock.Instant
    /// Whether a replica may take reads now, besides its breaker and lag (Patroni's view of
    /// its role and state, with `PatroniWatcher`); nil: every replica may.
    let admission: (@Sendable (String) -> Bool)?
    private let states: Mutex<[String: NodeState]>
    /// The statement timeout last set on each pooled connection, so it is set only when it changes.
    private let connectionTimeouts = Mutex<[String: Int]>([:])

    /// `nodes` must hold exactly one primary.
    package init(
        nodes: [ReadNode],
        configuration: Configuration = .init(),
        metrics: RouterMetrics = RouterMetrics(),
        clock: ServiceClock = .continuous,
        admission: (@Sendable (String) -> Bool)? = nil,
        logger: Logger
    ) {
        self.admission = admission
        precondition(nodes.filter { $0.role == .primary }.count == 1, "a read router needs exactly one primary")
        self.nodes = nodes
        self.metrics = metrics
        self.startedAt = clock.now
        self.configuration = configuration
        self.policy = RoutingPolicy(configuration: configuration.policy)
        self.clock = clock
        self.logger = logger
        var states = [String: NodeState]()
        for node in nodes {
            states[node.name] = NodeState(
                breaker: CircuitBreaker(configuration: configuration.breaker),
                lagMilliseconds: node.role == .primary ? 0 : nil,
                replayed: nil
            )
        }
        self.states = Mutex(states)
        // Every node's read counters exist from the start, at 0, for rates on dashboards.
        for node in nodes {
            for consistency in Consistency.allCases { metrics.served(consistency: consistency.rawValue, node: node.name, count: 0) }
        }
    }

    package var primary: ReadNode { self.nodes.first { $0.role == .primary }! }

    /// Runs `body` on a connection of the node the policy picks; on a node failure,
    /// once more on the next candidate.
    package func read<Value: Sendable>(
        _ consistency: Consistency,
        minimum: LogSequenceNumber? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Served<Value> {
        var candidates = Array(self.candidates(for: consistency, minimum: minimum).prefix(2))
        let patience = self.clock.now.advanced(by: self.configuration.primaryPatience)
        var lastError: (any Error)?
        var attempt = 0
        while !candidates.isEmpty {
            let node = candidates.removeFirst()
            attempt += 1
            let lag = self.states.withLock { $0[node.name]?.lagMilliseconds } ?? 0
            do {
                let started = ContinuousClock.now
                let value = try await self.run(on: node, consistency: consistency, body)
                let databaseTime = ContinuousClock.now - started
                self.recordSuccess(node.name)
                self.metrics.served(consistency: consistency.rawValue, node: node.name, count: 1)
                let source = ReadSource(
                    source: node.name,
                    role: node.role,
                    lagMilliseconds: node.role == .primary ? 0 : lag,
                    consistency: consistency
                )
                return Served(value: value, source: source, databaseTime: databaseTime)
            } catch {
                switch NodeFailure.classify(error) {
                case .query:
                    throw error
                case .nodeDown:
                    self.recordFailure(node.name)
                case .retryElsewhere:
                    break
                }
                self.logger.warning(
                    "Read failed on a node",
                    metadata: ["node": "\(node.name)", "attempt": "\(attempt)", "error": "\(String(reflecting: error))"]
                )
                lastError = error
                // The primary was the last resort: wait for it (or its successor) a while.
                if candidates.isEmpty, node.role == .primary, self.clock.now < patience {
                    try? await self.clock.sleep(for: .milliseconds(250))
                    candidates = [node]
                }
            }
        }
        throw lastError ?? NodeFailure.LeaseTimeout(node: "none")
    }

    /// The nodes a read of this class would try now, best first.
    package func candidates(for consistency: Consistency, minimum: LogSequenceNumber? = nil) -> [ReadNode] {
        let views = self.views()
        let names = self.policy.candidates(for: consistency, minimum: minimum, nodes: views)
        return names.compactMap { name in self.nodes.first { $0.name == name } }
    }

    // MARK: - What the monitor and tests see and set

    package func views() -> [RoutingPolicy.NodeView] {
        self.states.withLock { states in
            self.nodes.map { node in
                let state = states[node.name]!
                return RoutingPolicy.NodeView(
                    name: node.name,
                    role: node.role,
                    lagMilliseconds: state.lagMilliseconds,
                    replayed: state.replayed,
                    available: !state.breaker.isOpen && (node.role != .replica || self.admission?(node.name) ?? true)
                )
            }
        }
    }

    /// Whether the monitor should look at a node now (a `.probe` half-opens its breaker).
    func breakerDecision(_ name: String) -> CircuitBreaker<ServiceClock.Instant>.Decision {
        self.states.withLock { $0[name]?.breaker.decide(now: self.clock.now) } ?? .reject
    }

    func recordLag(_ name: String, lagMilliseconds: Double?, replayed: LogSequenceNumber?) {
        let now = self.clock.now
        self.states.withLock { states in
            states[name]?.lagMilliseconds = lagMilliseconds
            states[name]?.replayed = replayed
            if let lagMilliseconds { states[name]?.lastLag = (now, lagMilliseconds) }
        }
    }

    /// Records each node's breaker, lag and waiting reads (`/metrics` calls it before each
    /// scrape). A replica that cannot be reached is as far behind as its last lag plus the
    /// time since it was measured (or since this router started, if never).
    package func refreshGauges() {
        let now = self.clock.now
        let states = self.states.withLock { $0 }
        for node in self.nodes {
            guard let state = states[node.name] else { continue }
            self.metrics.breaker(node: node.name, role: node.role.rawValue, open: state.breaker.isOpen)
            self.metrics.pool(node: node.name, waiting: state.waiting, inUse: state.inUse)
            guard node.role == .replica else { continue }
            let seconds: Double
            if let lag = state.lagMilliseconds, !state.breaker.isOpen {
                seconds = lag / 1_000
            } else if let last = state.lastLag {
                seconds = last.milliseconds / 1_000 + Self.seconds(last.at.duration(to: now))
            } else {
                seconds = Self.seconds(self.startedAt.duration(to: now))
            }
            self.metrics.lag(node: node.name, seconds: seconds)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func waiting(_ name: String, _ change: Int) {
        self.states.withLock { $0[name]?.waiting += change }
    }

    /// Runs `body` on a leased connection, counted as in use meanwhile.
    private func inUse<Value>(_ name: String, _ body: () async throws -> Value) async rethrows -> Value {
        self.states.withLock { $0[name]?.inUse += 1 }
        defer { self.states.withLock { $0[name]?.inUse -= 1 } }
        return try await body()
    }

    private func stopWaiting(_ name: String, _ flag: LeaseFlag) {
        if flag.stoppedWaiting.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged { self.waiting(name, -1) }
    }

    func recordSuccess(_ name: String) {
        self.states.withLock { $0[name]?.breaker.recordSuccess() }
    }

    func recordFailure(_ name: String) {
        self.states.withLock { states in
            states[name]?.breaker.recordFailure(now: self.clock.now)
            if states[name]?.breaker.isOpen == true, self.nodes.first(where: { $0.name == name })?.role != .primary {
                states[name]?.lagMilliseconds = nil
            }
        }
    }

    /// Whether a node's breaker is open (or half-open).
    package func isBreakerOpen(_ name: String) -> Bool {
        self.states.withLock { $0[name]?.breaker.isOpen ?? false }
    }

    // MARK: - One attempt

    /// Runs `body` on a connection of `node` with the class's statement timeout (behind a
    /// transaction pooler, for the transactions `body` opens: `StatementTimeout`). A
    /// connection that cannot be leased within `leaseTimeout` is a node failure;
    /// once leased, the query runs as long as its statement timeout allows.
    func run<Value: Sendable>(
        on node: ReadNode,
        consistency: Consistency,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let timeout = self.configuration.statementTimeoutMilliseconds[consistency] ?? 5_000
        if node.pooled {
            return try await StatementTimeout.$milliseconds.withValue(timeout) {
                try await self.withLease(on: node, body)
            }
        }
        return try await self.withLease(on: node) { connection in
            try await self.setStatementTimeout(timeout, on: connection, node: node.name)
            return try await body(connection)
        }
    }

    /// `body`, ended with `Deadline.Abandoned` as soon as `connection` closes: PostgresNIO
    /// never answers a statement written to a closed connection (PostgresClient+Live.swift
    /// in TesseraStore says more), and a read waiting on one would hold its request, its
    /// lease and the pool's shutdown.
    static func whileOpen<Value: Sendable>(
        _ connection: PostgresConnection,
        _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let closed = connection.closeFuture
        return try await Deadline.run(
            "a read on connection \(connection.id)",
            abandonedWhen: { signal in closed.whenComplete { _ in signal("the connection closed") } },
            body
        )
    }

    /// `client.withConnection`, failing with `LeaseTimeout` if no connection comes in
    /// time. The primary, the answer of last resort, gets its pool's own connect timeout.
    func withLease<Value: Sendable>(
        on node: ReadNode,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        self.waiting(node.name, 1)
        let leased = LeaseFlag()
        // Counted as waiting until a connection comes or the lease fails, whichever is first.
        defer { self.stopWaiting(node.name, leased) }
        guard node.role != .primary else {
            return try await node.client.withConnection { connection in
                leased.value.store(true, ordering: .relaxed)
                self.stopWaiting(node.name, leased)
                return try await self.inUse(node.name) { try await Self.whileOpen(connection) { try await body(connection) } }
            }
        }
        let leaseTimeout = self.configuration.leaseTimeout
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                try await node.client.withConnection { connection in
                    leased.value.store(true, ordering: .relaxed)
                    self.stopWaiting(node.name, leased)
                    return try await self.inUse(node.name) { try await Self.whileOpen(connection) { try await body(connection) } }
                }
            }
            group.addTask {
                try await Task.sleep(for: leaseTimeout)
                if !leased.value.load(ordering: .relaxed) { throw NodeFailure.LeaseTimeout(node: node.name) }
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let value = result { return value }
            }
            throw NodeFailure.LeaseTimeout(node: node.name)
        }
    }

    private func setStatementTimeout(_ milliseconds: Int, on connection: PostgresConnection, node: String) async throws {
        let key = "\(node)#\(connection.id)"
        if self.connectionTimeouts.withLock({ $0[key] }) == milliseconds { return }
        try await connection.query("SELECT set_config('statement_timeout', \(String(milliseconds)), false)", logger: self.logger)
        self.connectionTimeouts.withLock { $0[key] = milliseconds }
    }
}

/// Set once a connection was leased; shared between the query and its lease timer.
final class LeaseFlag: Sendable {
    let value = Atomic<Bool>(false)
    /// Set by whichever of the lease and its failure comes first.
    let stoppedWaiting = Atomic<Bool>(false)
}
