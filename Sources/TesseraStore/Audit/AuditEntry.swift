import Foundation

/// One line of the audit trail: who (tenant and key, or the admin token) did what (method
/// and route), to what (the path), from where, with which request id, when, and what it
/// was answered.
package struct AuditEntry: Sendable, Equatable {
    package enum Actor: String, Sendable {
        /// A tenant's API key.
        case key
        /// The admin token.
        case admin
    }

    package var tenantID: Int64?
    package var keyID: Int64?
    package var actor: Actor
    /// Method and route template: `GET /v1/entities/{key}`.
    package var action: String
    /// The path asked for: `/v1/entities/dev-1`.
    package var target: String
    package var status: Int
    package var clientAddress: String?
    package var requestID: String?
    package var at: Date

    package init(
        tenantID: Int64?,
        keyID: Int64?,
        actor: Actor,
        action: String,
        target: String,
        status: Int,
        clientAddress: String?,
        requestID: String?,
        at: Date
    ) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.actor = actor
        self.action = action
        self.target = target
        self.status = status
        self.clientAddress = clientAddress
        self.requestID = requestID
        self.at = at
    }
}
