import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

/// What the planner expects a number filter to find (migration 0032): a filter names its
/// tenant and the key of each slot it reads (`k<slot>`, which follows the tenant), so its
/// estimate must be the tenant's rows, whichever slots it names. Misjudged by ~40x, the
/// planner picks another plan than the one the filter's speed was measured with.
@Suite struct SlotKeyEstimateTests {
    /// Two tenants' number rows (1,000 and 4,000 entities), analyzed in a transaction that
    /// is rolled back; the estimates of the small tenant's keys for the given slot sets.
    static func estimates(for slotSets: [[Int]]) async throws -> [Int] {
        let url = try await TestCluster.primaryURL()
        return try await withTestClient(url: url) { client in
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: quietLogger)
                do {
                    let small = try await Self.tenant(named: "estimate-small", entities: 1_000, on: connection)
                    _ = try await Self.tenant(named: "estimate-large", entities: 4_000, on: connection)
                    try await connection.query("ANALYZE entity_hot_numbers", logger: quietLogger)
                    var estimates = [Int]()
                    for slots in slotSets {
                        let keys = slots.map { "h.k\($0) = \(small) * 16 + \($0)" }.joined(separator: " AND ")
                        let plan = try await connection.query(
                            PostgresQuery(unsafeSQL: "EXPLAIN SELECT count(*) FROM entity_hot_numbers AS h WHERE h.tenant_id = \(small) AND \(keys)"),
                            logger: quietLogger
                        )
                        var scanRows: Int?
                        for try await line in plan.decode(String.self) where scanRows == nil && line.contains("Scan") {
                            scanRows = Self.rows(in: line)
                        }
                        estimates.append(try #require(scanRows, "no scan in the plan of slots \(slots)"))
                    }
                    try await connection.query("ROLLBACK", logger: quietLogger)
                    return estimates
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: quietLogger)
                    throw error
                }
            }
        }
    }

    static func tenant(named name: String, entities: Int, on connection: PostgresConnection) async throws -> Int64 {
        let unique = "\(name)-\(UUID().uuidString.prefix(8))"
        let rows = try await connection.query("INSERT INTO tenants (name) VALUES (\(unique)) RETURNING tenant_id", logger: quietLogger)
        var id: Int64 = -1
        for try await tenant in rows.decode(Int64.self) { id = tenant }
        try await connection.query(
            PostgresQuery(unsafeSQL: "INSERT INTO entities (tenant_id, external_key) SELECT \(id), 'e-' || g FROM generate_series(1, \(entities)) AS g"),
            logger: quietLogger
        )
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO entity_hot_numbers (tenant_id, entity_id, n0, n1, n3, n5, n9, n14)
                    SELECT tenant_id, entity_id, random(), random(), random(), random(), random(), random() FROM entities WHERE tenant_id = \(id)
                    """
            ),
            logger: quietLogger
        )
        return id
    }

    /// The `rows=` of a plan line.
    static func rows(in line: String) -> Int? {
        guard let range = line.range(of: "rows=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func aFilterOnAnySlotsIsEstimatedFromItsTenantsRows() async throws {
        // Slots of one former statistics object (0, 1), of two (3 and 9), of three (0, 5, 9, 14):
        // before 0032 the last two were estimated at 23 rows of 1,000.
        let slotSets = [[0, 1], [3, 9], [0, 5, 9, 14], [7]]
        let estimates = try await Self.estimates(for: slotSets)
        for (slots, estimate) in zip(slotSets, estimates) {
            #expect((500...2_000).contains(estimate), "slots \(slots): estimated \(estimate) of 1,000 rows")
        }
    }
}
