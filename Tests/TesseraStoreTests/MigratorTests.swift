import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// Migrations against a real PostgreSQL, each test on its own empty database.
@Suite struct MigratorTests {
    @Test func migratesAnEmptyDatabaseAndRecordsChecksums() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let migrator = try Migrator(client: client, logger: quietLogger)
            let report = try await migrator.migrate()
            let versions = try Migration.bundled().map(\.version)
            #expect(versions.starts(with: [1, 2]))
            #expect(report.applied == versions)
            #expect(report.partitionsCreated == 4)
            let rows = try await client.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            var recorded = [(Int, String)]()
            for try await row in rows.decode((Int, String).self) { recorded.append(row) }
            #expect(recorded.map(\.0) == versions)
            #expect(recorded.map(\.1) == (try Migration.bundled()).map(\.checksum))
            try await migrator.verifyCurrent()
        }
    }

    @Test func rerunningIsANoOp() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let migrator = try Migrator(client: client, logger: quietLogger)
            _ = try await migrator.migrate()
            let again = try await migrator.migrate()
            #expect(again.applied.isEmpty)
            #expect(again.partitionsCreated == 0)
            #expect(try await count(client, "SELECT count(*) FROM schema_migrations") == migrator.migrations.count)
        }
    }

    @Test func refusesATamperedChecksum() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let migrator = try Migrator(client: client, logger: quietLogger)
            _ = try await migrator.migrate()
            // The file changed after it was applied: same version, other text.
            var edited = try Migration.bundled()
            edited[0].sql += "\n-- an edit\n"
            let editedMigrator = Migrator(client: client, migrations: edited, logger: quietLogger)
            await #expect(throws: StoreError.self) { try await editedMigrator.migrate() }
            await #expect(throws: StoreError.self) { try await editedMigrator.verifyCurrent() }
            do {
                _ = try await editedMigrator.migrate()
            } catch let error as StoreError {
                guard case .checksumMismatch(let version, _, _, _) = error else {
                    Issue.record("wrong error \(error)")
                    return
                }
                #expect(version == 1)
                #expect(error.description.contains("Refusing to start"))
            }
            // Or the record was tampered with.
            try await client.query("UPDATE schema_migrations SET checksum = 'feedface' WHERE version = 1")
            await #expect(throws: StoreError.self) { try await migrator.migrate() }
        }
    }

    @Test func refusesADatabaseNewerThanTheBuild() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let migrator = try Migrator(client: client, logger: quietLogger)
            _ = try await migrator.migrate()
            try await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')")
            do {
                _ = try await migrator.migrate()
                Issue.record("a newer schema was accepted")
            } catch let error as StoreError {
                #expect(error == .schemaNewerThanBuild(databaseVersion: 999, buildVersion: migrator.buildVersion))
            }
        }
    }

    @Test func concurrentStartersAreSerialised() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await Migrator(client: client, logger: quietLogger).migrate() }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = try Migration.bundled().map(\.version)
            #expect(reports.filter { $0.applied == all }.count == 1)
            #expect(reports.filter { $0.applied.isEmpty }.count == 3)
            #expect(try await count(client, "SELECT count(*) FROM schema_migrations") == all.count)
        }
    }

    @Test func anUnmigratedDatabaseIsNotReady() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            let migrator = try Migrator(client: client, logger: quietLogger)
            do {
                try await migrator.verifyCurrent()
                Issue.record("an empty database passed as migrated")
            } catch let error as StoreError {
                #expect(error == .notMigrated(databaseVersion: 0, buildVersion: migrator.buildVersion))
            }
        }
    }
}

func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
    let rows = try await client.query(PostgresQuery(unsafeSQL: sql))
    for try await value in rows.decode(Int.self) { return value }
    return -1
}
