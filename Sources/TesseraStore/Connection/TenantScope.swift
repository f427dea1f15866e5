import Logging
import PostgresNIO
import TesseraCore

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
///
/// In the same statement, the connection's `application_name` gets the request's id
/// (`RequestTag`) for as long as the statement (or transaction) runs: `tessera/read-primary
/// 8Zk3…`. A slow query in `pg_stat_activity` leads back to its request and its log lines.
package enum TenantScope {
    /// The setting's name, as the policies read it.
    package static let setting = "tessera.tenant_id"

    /// The connection's own name (its pool's) and the request's id, at most 63 bytes.
    static let taggedName = "left(split_part(current_setting('application_name'), ' ', 1) || coalesce(' ' || %@, ''), 63)"

    /// `sql` (whose binds are `$1` … `$bindCount`) as a statement that first sets the tenant,
    /// bound as text to `$(bindCount + 1)`, and the request's id (`$(bindCount + 2)`, text or
    /// NULL), then returns the rows of `sql` in their order.
    package static func wrap(_ sql: String, bindCount: Int) -> String {
        let name = Self.taggedName.replacingOccurrences(of: "%@", with: "$\(bindCount + 2)::text")
        return """
            SELECT scoped.* FROM set_config('\(Self.setting)', $\(bindCount + 1), true) AS tessera_scope(tenant)
            CROSS JOIN set_config('application_name', \(name), true) AS tessera_trace(name)
            CROSS JOIN LATERAL (SELECT * FROM (
            \(sql)
            ) AS unscoped WHERE tessera_scope.tenant IS NOT NULL AND tessera_trace.name IS NOT NULL OFFSET 0) AS scoped
            """
    }

    /// `query` run for `tenant`: the same rows, under the tenant wall.
    package static func read(_ query: PostgresQuery, tenant: Int64) -> PostgresQuery {
        var binds = query.binds
        binds.append(String(tenant))
        binds.appendRequestTag()
        return PostgresQuery(unsafeSQL: Self.wrap(query.sql, bindCount: query.binds.count), binds: binds)
    }

    /// Sets the tenant (and the request's id in `application_name`) for the rest of the
    /// current transaction on `connection`; and the read's statement timeout, when the router
    /// left one for a node behind a transaction pooler (`StatementTimeout`).
    package static func enter(_ tenant: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        let name = PostgresQuery(
            unsafeSQL: "SELECT set_config($1, $2, true), set_config('application_name', "
                + Self.taggedName.replacingOccurrences(of: "%@", with: "$3::text") + ", true), "
                + "CASE WHEN $4::text IS NOT NULL THEN set_config('statement_timeout', $4::text, true) END",
            binds: {
                var binds = PostgresBindings(capacity: 4)
                binds.append(Self.setting)
                binds.append(String(tenant))
                binds.appendRequestTag()
                if let timeout = StatementTimeout.milliseconds { binds.append(String(timeout)) } else { binds.appendNull() }
                return binds
            }()
        )
        try await connection.query(name, logger: logger)
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

    /// Runs `body` in a transaction whose statements run for `tenant`, on a connection of
    /// `client` whose close ends it (`withLiveTransaction`).
    package static func transaction<Result: Sendable>(
        tenant: Int64,
        on client: PostgresClient,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withLiveTransaction(logger: logger) { connection in
            try await Self.enter(tenant, on: connection, logger: logger)
            return try await body(connection)
        }
    }
}
