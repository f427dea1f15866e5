import Foundation

/// An entity (a device, a vehicle, a service) of one tenant, named by its external key.
package struct Entity: Sendable, Equatable {
    package var id: Int64
    package var tenantID: Int64
    package var key: String
    package var type: String?
    package var version: Int64
    package var createdAt: Date
    package var updatedAt: Date
    /// The data subject the entity's data is about (a pseudonymous id the tenant chose):
    /// erasing the subject erases the entity. Nil when untagged, or not read.
    package var subject: String?

    package init(
        id: Int64,
        tenantID: Int64,
        key: String,
        type: String?,
        version: Int64,
        createdAt: Date,
        updatedAt: Date,
        subject: String? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.key = key
        self.type = type
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.subject = subject
    }
}
