import Synchronization
import TesseraCore

/// Concurrent callers asking for the same key share one execution of the work:
/// a burst of misses on one cache key makes one database read.
package final class SingleFlight<Value: Sendable>: Sendable {
    /// Keys compare as bytes: two spellings of one text in different normal forms are two keys.
    private let flights = Mutex<[ExactKey: Task<Value, any Error>]>([:])

    package init() {}

    package func run(_ text: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let key = ExactKey(text)
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
