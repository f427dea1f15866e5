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
    static func change(tenants: [Int64], entityTenants: [Int64], entities: [Int64], versions: [Int64], atMicros: Int64) -> ProjectionChange {
        var refs = [ProjectionChange.EntityRef]()
        refs.reserveCapacity(entities.count)
        for index in entities.indices {
            refs.append(.init(tenantID: entityTenants[index], entityID: entities[index], version: versions[index]))
        }
        return ProjectionChange(tenants: tenants, entities: refs, atMicros: atMicros)
    }

    /// The columns of `stage_flush()` and `move_staged()` that describe the change.
    static let changeColumns = "moved_tenants, projected_tenant_ids, projected_entity_ids, projected_versions, flushed_at_us"
}
