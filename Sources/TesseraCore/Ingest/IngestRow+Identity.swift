/// A point is identified by (tenant, entity, attribute, time): writing it again
/// replaces its value, and within one batch the last occurrence wins.
extension IngestRow {
    package struct PointKey: Hashable, Sendable {
        var tenantID: Int64
        var entityID: Int64
        var attributeID: Int32
        var timestamp: Int64
    }

    package var pointKey: PointKey {
        PointKey(tenantID: self.tenantID, entityID: self.entityID, attributeID: self.attributeID, timestamp: self.timestamp)
    }
}

extension Array where Element == IngestRow {
    /// One row per point, the last of each in this array's order; the others keep their order.
    package func keepingLastOfEachPoint() -> [IngestRow] {
        var seen = Set<IngestRow.PointKey>(minimumCapacity: self.count)
        var keep = [Bool](repeating: true, count: self.count)
        var dropped = 0
        for index in self.indices.reversed() where !seen.insert(self[index].pointKey).inserted {
            keep[index] = false
            dropped += 1
        }
        guard dropped > 0 else { return self }
        var rows = [IngestRow]()
        rows.reserveCapacity(self.count - dropped)
        for index in self.indices where keep[index] { rows.append(self[index]) }
        return rows
    }
}
