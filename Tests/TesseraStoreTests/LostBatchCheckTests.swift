import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// The flusher's check for lost batches (`lost_batches()`, migration 0037) names exactly the held
/// batches the database has neither flushed nor staged, oldest first (the order they are replayed
/// in: of two writes of one point, the batch replayed last wins), when many are held: the case of
/// every overloaded load, where the check used to read the whole staging table once per batch
/// (BENCHMARKS.md, "The check for lost batches").
@Suite struct LostBatchCheckTests {
    @Test func ofManyHeldBatchesTheCheckNamesOnlyThoseNeitherStagedNorFlushed() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            try await Catalog(client: client, logger: quietLogger).createTenant(name: "lost-check").0
        }
        // Batches 1-200 staged (50 points each), 201-300 flushed, 301-400 in neither: lost.
        try await TestConnection.withConnection(database) { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH a AS (INSERT INTO attributes (tenant_id, name, value_type) VALUES (\(tenant.id), 'v', 'decimal') RETURNING attribute_id),
                             e AS (SELECT entity_id FROM create_entities(\(tenant.id), '{dev-1}'))
                        INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                        SELECT \(tenant.id), e.entity_id, a.attribute_id, p, now() - p * interval '1 second', now(), b
                          FROM a, e, generate_series(1, 200) AS b, generate_series(1, 50) AS p
                        """
                ),
                logger: quietLogger
            )
            try await connection.query(
                "INSERT INTO ingest_flushed_batches (batch_id) SELECT generate_series(201, 300)",
                logger: quietLogger
            )
        }
        // The flusher's own query, as the server's role; the ids in any order.
        let asked = (1...400).reversed().map(Int64.init)
        let lost = try await withTestClient(url: ServerRole.url(for: database)) { client in
            let rows = try await client.query(StagingSQL.lost(among: asked), logger: quietLogger)
            var lost = [Int64]()
            for try await id in rows.decode(Int64.self) { lost.append(id) }
            return lost
        }
        #expect(lost == (301...400).map(Int64.init), "the lost batches, each once, oldest first")
    }
}
