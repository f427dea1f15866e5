import Foundation

/// A tenant: the unit of isolation. Every row in the store carries its id.
package struct Tenant: Sendable, Equatable {
    package var id: Int64
    package var name: String
    package var settings: Settings
    package var createdAt: Date

    package init(id: Int64, name: String, settings: Settings, createdAt: Date) {
        self.id = id
        self.name = name
        self.settings = settings
        self.createdAt = createdAt
    }

    /// Per-tenant behaviour and caps, so a noisy neighbour cannot hurt the others.
    package struct Settings: Sendable, Equatable {
        /// Create an attribute on first sight, with the type of its first value.
        package var autoCreateAttributes: Bool
        /// Months of data kept; 0 keeps everything forever.
        package var retentionMonths: Int
        package var maxEntities: Int64
        package var maxAttributes: Int
        package var maxPointsPerSecond: Int

        package init(
            autoCreateAttributes: Bool = true,
            retentionMonths: Int = 0,
            maxEntities: Int64 = 10_000_000,
            maxAttributes: Int = 1_000,
            maxPointsPerSecond: Int = 200_000
        ) {
            self.autoCreateAttributes = autoCreateAttributes
            self.retentionMonths = retentionMonths
            self.maxEntities = maxEntities
            self.maxAttributes = maxAttributes
            self.maxPointsPerSecond = maxPointsPerSecond
        }
    }
}
