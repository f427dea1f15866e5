import Synchronization
import TesseraCore

/// Where the write path announces what each committed flush or `safe` write
/// changed. The cache subscribes, and forgets those entries before the next flush
/// starts (and before a `safe` write is acknowledged).
package final class ProjectionFeed: Sendable {
    package typealias Listener = @Sendable (ProjectionChange) async -> Void

    private let listeners = Mutex<[Listener]>([])

    package init() {}

    package func subscribe(_ listener: @escaping Listener) {
        self.listeners.withLock { $0.append(listener) }
    }

    package func publish(_ change: ProjectionChange) async {
        guard !change.isEmpty else { return }
        for listener in self.listeners.withLock({ $0 }) {
            await listener(change)
        }
    }

    /// Reads the change columns of `move_staged()` / `stage_flush()`.
    static func change(tenants: [Int64], entityTenants: [Int64], entities: [Int64], atMicros: Int64) -> ProjectionChange {
        ProjectionChange(
            tenants: tenants,
            entities: zip(entityTenants, entities).map { ProjectionChange.EntityRef(tenantID: $0, entityID: $1) },
            atMicros: atMicros
        )
    }
}
