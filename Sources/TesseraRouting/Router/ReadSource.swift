import TesseraCore

/// Where a read was served and how stale it may be: `meta` in every read response.
package struct ReadSource: Sendable, Equatable {
    /// The node's name (`primary`, `replica-1`, `analytics`), or `cache`.
    package var source: String
    package var role: ReadNode.Role?
    /// Estimated staleness in milliseconds: 0 for the primary.
    package var lagMilliseconds: Double
    package var consistency: Consistency

    package init(source: String, role: ReadNode.Role?, lagMilliseconds: Double, consistency: Consistency) {
        self.source = source
        self.role = role
        self.lagMilliseconds = lagMilliseconds
        self.consistency = consistency
    }
}
