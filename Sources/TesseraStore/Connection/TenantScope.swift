import Logging
import PostgresNIO

/// The tenant a statement runs for, as row-level security sees it (migration 0013): the
/// transaction-local setting `tessera.tenant_id`. With it unset every tenant table reads
/// empty; with it set only that tenant's rows are visible or writable, whatever the
/// statement's own predicates say.
///
/// A read carries the setting in its own statement, so it costs no extra round trip:
/// `set_config` is the outer side of a nested loop whose inner side (the read, laterally
/// dependent on it) runs only after it. A write sets it first in its transaction. So does
/// a read that scans many rows (an aggregate over the points): a statement that calls
/// `set_config` cannot run in parallel, and on 300,000 points the parallel plan is ~40%
/// faster than the three more round trips cost (BENCHMARKS.md, the tenant wall).
package enum TenantScope {
    /// The setting's name, as the policies read it.
    package static let setting = "tessera.tenant_id"

    /// `sql` (whose binds are `$1` … `$bindCount`) as a statement that first sets the tenant,
    /// bound as text to `$(bindCount + 1)`, then returns the rows of `sql` in their order.
    package static func wrap(_ sql: String, bindCount: Int) -> String {
        """
        SELECT scoped.* FROM set_config('\(Self.setting)', $\(bindCount + 1), true) AS tessera_scope(tenant)
        CROSS JOIN LATERAL (SELECT * FROM (
        \(sql)
        ) AS unscoped WHERE tessera_scope.tenant IS NOT NULL OFFSET 0) AS scoped
        """
    }

    /// `query` run for `tenant`: the same rows, under the tenant wall.
    package static func read(_ query: PostgresQuery, tenant: Int64) -> PostgresQuery {
        var binds = query.binds
        binds.append(String(tenant))
        return PostgresQuery(unsafeSQL: Self.wrap(query.sql, bindCount: query.binds.count), binds: binds)
    }

    /// Sets the tenant for the rest of the current transaction on `connection`.
    package static func enter(_ tenant: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT set_config(\(Self.setting), \(String(tenant)), true)", logger: logger)
    }

    /// Runs `body` on `connection` in a transaction whose statements run for `tenant` (and
    /// may run in parallel). Failures are PostgreSQL's own, as a statement run alone throws
    /// them (the read router and the error mapping read them).
    package static func transaction<Result>(
        tenant: Int64,
        on connection: PostgresConnection,
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await connection.withTransaction(logger: logger) { connection in
                try await Self.enter(tenant, on: connection, logger: logger)
                return try await body(connection)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    /// Runs `body` in a transaction whose statements run for `tenant`.
    package static func transaction<Result>(
        tenant: Int64,
        on client: PostgresClient,
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await client.withTransaction(logger: logger) { connection in
            try await Self.enter(tenant, on: connection, logger: logger)
            return try await body(connection)
        }
    }
}
