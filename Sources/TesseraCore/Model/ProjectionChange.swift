/// What one flush (or one `safe` write) changed: the tenants whose time series
/// got rows, and the entities whose projection row was rewritten, with the
/// projection's new `updated_at` — what the cache must forget.
package struct ProjectionChange: Sendable, Equatable {
    package struct EntityRef: Sendable, Hashable {
        package var tenantID: Int64
        package var entityID: Int64
        /// The entity's state's new version: its projection row's `updated_at` (µs), or
        /// the deletion's time.
        package var version: Int64

        package init(tenantID: Int64, entityID: Int64, version: Int64) {
            self.tenantID = tenantID
            self.entityID = entityID
            self.version = version
        }
    }

    package var tenants: [Int64]
    package var entities: [EntityRef]
    /// The time (µs since 1970) the change was written, after every entity's version.
    package var atMicros: Int64

    package init(tenants: [Int64], entities: [EntityRef], atMicros: Int64) {
        self.tenants = tenants
        self.entities = entities
        self.atMicros = atMicros
    }

    /// This change and a later one, as one.
    package func merged(with later: ProjectionChange) -> ProjectionChange {
        ProjectionChange(
            tenants: Array(Set(self.tenants).union(later.tenants)).sorted(),
            entities: self.entities + later.entities,
            atMicros: max(self.atMicros, later.atMicros)
        )
    }

    package var isEmpty: Bool { self.tenants.isEmpty && self.entities.isEmpty }
}
