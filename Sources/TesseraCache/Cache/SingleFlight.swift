import Synchronization

/// Concurrent callers asking for the same key share one execution of the work:
/// a burst of misses on one cache key makes one database read.
package final class SingleFlight<Value: Sendable>: Sendable {
    private let flights = Mutex<[String: Task<Value, any Error>]>([:])

    package init() {}

    package func run(_ key: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (task, leader) = self.flights.withLock { flights -> (Task<Value, any Error>, Bool) in
            if let running = flights[key] { return (running, false) }
            let task = Task { try await work() }
            flights[key] = task
            return (task, true)
        }
        if leader {
            defer { _ = self.flights.withLock { $0.removeValue(forKey: key) } }
            return try await task.value
        }
        return try await task.value
    }

    /// Keys with work in flight (for tests and metrics).
    package var inFlight: Int { self.flights.withLock { $0.count } }
}
