import Synchronization

/// What the inner layers learn about a request that the outer ones log after it is
/// answered: one per request, shared by every copy of its context (a context is a value,
/// and each middleware passes its own copy down).
package final class RequestTrace: Sendable {
    private let tenant = Atomic<Int64>(0)

    package init() {}

    /// The authenticated tenant's id; nil before (or without) authentication.
    package var tenantID: Int64? {
        get {
            let id = self.tenant.load(ordering: .relaxed)
            return id == 0 ? nil : id
        }
        set { self.tenant.store(newValue ?? 0, ordering: .relaxed) }
    }
}
