/// The pool's bookkeeping, without I/O or time: which of its fixed connection slots
/// are connected, connecting or backing off, which commands wait for a connection,
/// and what the driver (`RedisClient`) must do next.
///
/// Slots start idle and are all started by the first command (connections are made
/// lazily, then kept). A slot whose connection closes reconnects at once; one whose
/// connect failed backs off. A command uses a connected slot (round robin), waits
/// for a connecting one (the driver bounds the wait by the command timeout), or fails
/// at once when every slot is backing off: a cache must not stall its callers while
/// Redis is down.
struct RedisPoolStateMachine<Connection: Sendable> {
    enum Slot {
        case idle
        case connecting
        case connected(Connection)
        case backingOff
    }

    enum LeaseAction {
        case use(Connection)
        /// Wait for a slot that is connecting: call `addWaiter`.
        case wait
        case fail(RedisError)
    }

    private(set) var slots: [Slot]
    /// Waiting commands, first come first served.
    private(set) var waiters: [Int] = []
    private(set) var isShutDown = false
    private var nextSlot = 0
    /// Why the last connect failed, for commands failed while every slot backs off.
    private var lastError: RedisError?

    init(connections: Int) {
        precondition(connections > 0, "A Redis pool needs at least one connection")
        self.slots = Array(repeating: .idle, count: connections)
    }

    /// A connection for a command, and the idle slots the driver must start now.
    /// Connections that are not `usable` (closed, and the driver not told yet) are
    /// passed over; a `preferred` one (on the caller's thread, say) is taken first.
    mutating func lease(
        usable: (Connection) -> Bool = { _ in true },
        preferred: (Connection) -> Bool = { _ in false }
    ) -> (action: LeaseAction, start: [Int]) {
        guard !self.isShutDown else { return (.fail(Self.shutDownError), []) }
        var start = [Int]()
        for index in self.slots.indices {
            if case .idle = self.slots[index] {
                self.slots[index] = .connecting
                start.append(index)
            }
        }
        for preferredOnly in [true, false] {
            for offset in 0..<self.slots.count {
                let index = (self.nextSlot + offset) % self.slots.count
                if case .connected(let connection) = self.slots[index], !preferredOnly || preferred(connection), usable(connection) {
                    self.nextSlot = (index + 1) % self.slots.count
                    return (.use(connection), start)
                }
            }
        }
        if self.hasConnectingSlot || self.hasConnectedSlot {
            return (.wait, start)
        }
        return (.fail(self.allDownError), start)
    }

    /// Registers a waiting command after `lease` said `.wait`; it is answered by a later
    /// `connected` (with the connection) or `connectFailed` (with an error).
    mutating func addWaiter(_ id: Int) {
        self.waiters.append(id)
    }

    /// The waiter gave up (its timeout or its task's cancellation); false if it was answered already.
    mutating func removeWaiter(_ id: Int) -> Bool {
        guard let index = self.waiters.firstIndex(of: id) else { return false }
        self.waiters.remove(at: index)
        return true
    }

    /// The slot is (re)connecting: after a lost connection at once, after a failure once its backoff ran out.
    mutating func connecting(slot: Int) {
        guard !self.isShutDown else { return }
        self.slots[slot] = .connecting
    }

    /// The slot connected: the waiters to hand it to (all of them: it pipelines).
    /// After shutdown, nil: the driver closes the connection.
    mutating func connected(slot: Int, _ connection: Connection) -> [Int]? {
        guard !self.isShutDown else { return nil }
        self.slots[slot] = .connected(connection)
        self.lastError = nil
        defer { self.waiters.removeAll() }
        return self.waiters
    }

    /// The slot's connection closed; the driver reconnects it at once.
    mutating func disconnected(slot: Int) {
        guard !self.isShutDown else { return }
        self.slots[slot] = .connecting
    }

    /// The slot could not connect: the waiters to fail (with `error`), when no other
    /// slot can serve them soon.
    mutating func connectFailed(slot: Int, error: RedisError) -> [Int] {
        guard !self.isShutDown else { return [] }
        self.slots[slot] = .backingOff
        self.lastError = error
        guard !self.hasConnectingSlot, !self.hasConnectedSlot else { return [] }
        defer { self.waiters.removeAll() }
        return self.waiters
    }

    /// Stops the pool: the waiters to fail; the driver closes the connections.
    mutating func shutDown() -> [Int] {
        self.isShutDown = true
        for index in self.slots.indices { self.slots[index] = .idle }
        defer { self.waiters.removeAll() }
        return self.waiters
    }

    private var hasConnectingSlot: Bool {
        self.slots.contains { if case .connecting = $0 { true } else { false } }
    }

    private var hasConnectedSlot: Bool {
        self.slots.contains { if case .connected = $0 { true } else { false } }
    }

    /// Of the kind of the last connect's failure (`.authentication` stays that), else `.connection`.
    var allDownError: RedisError {
        let message = "No connection to Redis: every connection is down and backing off before it reconnects"
        guard let lastError = self.lastError else { return RedisError(.connection, message + ".") }
        return RedisError(lastError.kind == .authentication ? .authentication : .connection, message + "; the last attempt: " + lastError.message)
    }

    static var shutDownError: RedisError {
        RedisError(.shutdown, "The Redis client has shut down.")
    }
}
