import Logging
import PostgresNIO
import TesseraCore

/// Applies the bundled migrations in order, each in its own transaction, recorded in
/// `schema_migrations` with its checksum. Concurrent starters wait on an advisory lock;
/// an edited applied migration or a database newer than the build is refused.
package struct Migrator: Sendable {
    /// Advisory lock key held while migrating.
    package static let lockKey = AdvisoryLock.migration
    /// Months of partitions made ahead, counting the current one.
    package static let partitionMonthsAhead = 4
    /// The role that owns the schema (migration 0013): later migrations run as it, so
    /// what they create is its. The role migrating must be a member of it.
    package static let ownerRole = "tessera_owner"
    /// The first migration that runs as `ownerRole` (the ones before it ran as whoever
    /// migrated; 0013 gave their objects to the owner).
    static let firstOwnedVersion = 14

    package struct Report: Sendable, Equatable {
        package var applied: [Int]
        package var schemaVersion: Int
        package var partitionsCreated: Int
    }

    let client: PostgresClient
    let migrations: [Migration]
    let logger: Logger

    package init(client: PostgresClient, migrations: [Migration], logger: Logger) {
        self.client = client
        self.migrations = migrations
        self.logger = logger
    }

    package init(client: PostgresClient, logger: Logger) throws {
        self.init(client: client, migrations: try Migration.bundled(), logger: logger)
    }

    package var buildVersion: Int { self.migrations.last?.version ?? 0 }

    /// Brings the schema to this build's version and makes the partitions ahead.
    package func migrate() async throws -> Report {
        try await self.client.withLiveConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: self.logger)
            do {
                let report = try await self.migrateLocked(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                return report
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                throw error
            }
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> Report {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: self.logger
        )
        let applied = try await self.appliedChecksums(connection)
        try self.verify(applied)
        var appliedNow = [Int]()
        for migration in self.migrations where applied[migration.version] == nil {
            try await self.apply(migration, on: connection)
            appliedNow.append(migration.version)
        }
        let made = try await PartitionMaintainer.ensurePartitions(on: connection, months: Self.partitionMonthsAhead, logger: self.logger)
        return Report(applied: appliedNow, schemaVersion: self.buildVersion, partitionsCreated: made)
    }

    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws {
        self.logger.info("Applying migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
        let statements = SQLScript.statements(migration.sql)
        try await connection.withTransaction(logger: self.logger) { connection in
            if migration.version >= Self.firstOwnedVersion {
                try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(Self.ownerRole)"), logger: self.logger)
            }
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
            try await connection.query(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                logger: self.logger
            )
        }
    }

    /// Throws unless every applied migration is one of this build's, unchanged.
    package func verify(_ applied: [Int: String]) throws {
        let bundled = Dictionary(uniqueKeysWithValues: self.migrations.map { ($0.version, $0) })
        if let newest = applied.keys.max(), bundled[newest] == nil, newest > self.buildVersion {
            throw StoreError.schemaNewerThanBuild(databaseVersion: newest, buildVersion: self.buildVersion)
        }
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = bundled[version] else { continue }
            if migration.checksum != checksum {
                throw StoreError.checksumMismatch(
                    version: version,
                    name: migration.name,
                    applied: checksum,
                    bundled: migration.checksum
                )
            }
        }
    }

    /// Throws unless the database is exactly at this build's schema, unchanged: what `serve` checks.
    package func verifyCurrent() async throws {
        let applied = try await self.client.withLiveConnection { try await self.appliedChecksums($0) }
        try self.verify(applied)
        let current = applied.keys.max() ?? 0
        if current < self.buildVersion || applied.count < self.migrations.count {
            throw StoreError.notMigrated(databaseVersion: current, buildVersion: self.buildVersion)
        }
    }

    private func appliedChecksums(_ connection: PostgresConnection) async throws -> [Int: String] {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: self.logger)
        for try await present in exists.decode(Bool.self) where !present {
            return [:]
        }
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations", logger: self.logger)
        var applied = [Int: String]()
        for try await (version, checksum) in rows.decode((Int, String).self) {
            applied[version] = checksum
        }
        return applied
    }
}
