import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// A flush that adds points to hours already rolled up rewrites their rollup rows in place
/// (migration 0033): each update is a heap-only tuple, with no new entry in the rollups' index
/// and no row moved to another page. What an operator sees in `pg_stat_user_tables`
/// (`n_tup_hot_upd` against `n_tup_upd`) and in the flush's speed (BENCHMARKS.md, "Rollups
/// updated in place"). At fillfactor 100 the same flush updated none of the 2,000 rows in place.
@Suite struct RollupInPlaceTests {
    static let attributes = 40
    static let hours = 50

    @Test func aSecondStationsPointsUpdateTheHoursRollupsInPlace() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            try await Catalog(client: client, logger: quietLogger).createTenant(name: "in-place").0
        }
        try await TestConnection.withConnection(database) { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO attributes (tenant_id, name, value_type)
                        SELECT \(tenant.id), 'f' || a, 'decimal' FROM generate_series(1, \(Self.attributes)) AS a
                        """
                ),
                logger: quietLogger
            )
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM create_entities(\(tenant.id), '{station-1,station-2}')"),
                logger: quietLogger
            )
            // Station 1's hours fill the rollups' pages; station 2's points reach every one of them.
            try await Self.stage(station: "station-1", value: 10, batch: 91, tenant: tenant, on: connection)
            let first = try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(91, \(tenant.id))", on: connection)
            #expect(first == Self.attributes * Self.hours)
            try await Self.stage(station: "station-2", value: 30, batch: 92, tenant: tenant, on: connection)

            try await connection.query("BEGIN", logger: quietLogger)
            let second = try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(92, \(tenant.id))", on: connection)
            #expect(second == Self.attributes * Self.hours)
            let updated = try await TestConnection.number(
                "SELECT n_tup_upd::int FROM pg_stat_xact_user_tables WHERE relname = 'entity_values_hourly'",
                on: connection
            )
            let inPlace = try await TestConnection.number(
                "SELECT n_tup_hot_upd::int FROM pg_stat_xact_user_tables WHERE relname = 'entity_values_hourly'",
                on: connection
            )
            try await connection.query("COMMIT", logger: quietLogger)
            #expect(updated == Self.attributes * Self.hours, "every hour of every attribute was rolled up already")
            #expect(inPlace == updated, "each rollup row rewritten on its own page")

            // And the rollups say what the points say: two points an hour, 10 + 30.
            let wrongHours = try await TestConnection.number(
                "SELECT count(*)::int FROM entity_values_hourly WHERE tenant_id = \(tenant.id) AND (count <> 2 OR sum <> 40 OR min <> 10 OR max <> 30)",
                on: connection
            )
            let rolledHours = try await TestConnection.number(
                "SELECT count(*)::int FROM entity_values_hourly WHERE tenant_id = \(tenant.id)",
                on: connection
            )
            #expect(rolledHours == Self.attributes * Self.hours)
            #expect(wrongHours == 0)
        }
    }

    /// Stages one point of `value` for each attribute and hour of the current UTC month's first
    /// `hours` hours (a fresh database has the current month's partition; months are UTC months).
    private static func stage(station: String, value: Double, batch: Int, tenant: Tenant, on connection: PostgresConnection) async throws {
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                    SELECT e.tenant_id, e.entity_id, a.attribute_id, \(value), (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + h * interval '1 hour', now(), \(batch)
                      FROM entities AS e
                      JOIN attributes AS a ON a.tenant_id = e.tenant_id
                     CROSS JOIN generate_series(0, \(Self.hours - 1)) AS h
                     WHERE e.tenant_id = \(tenant.id) AND e.external_key = '\(station)'
                    """
            ),
            logger: quietLogger
        )
    }
}
