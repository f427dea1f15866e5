import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraStore

/// What the tenant wall costs a lookup at the database (migration 0013): the entity
/// lookup as the server sends it (set_config in the statement, under row-level
/// security, as `tessera_app`), against the same statement as the superuser (the wall
/// bypassed) and the statement before 0013 (no setting, no wall). And what a pooler in
/// transaction mode costs (issue 19): the server's lookup as an unnamed statement (parsed
/// and planned each time, as behind pgbouncer 1.18 or RDS Proxy), directly and through the
/// cluster's pgbouncer. One connection, random keys of the dataset, the variants taken in
/// turn for several rounds so that the machine's drift falls on all of them.
struct RowSecurityBench {
    let superuser: DatabaseURL
    let server: DatabaseURL
    /// The server's role through pgbouncer; nil: that variant is left out.
    let pooled: DatabaseURL?
    let seconds: Int
    let rounds: Int
    let logger: Logger

    static let lookup = """
        SELECT e.entity_id, e.external_key, e.entity_type, e.version, e.created_at, e.updated_at,
               coalesce(j.attrs, '{}')::text, coalesce(j.attr_ts, '{}')::text,
               (extract(epoch FROM greatest(e.updated_at, j.updated_at)) * 1000000)::bigint
          FROM entities AS e
          LEFT JOIN entity_jsonb AS j ON j.tenant_id = e.tenant_id AND j.entity_id = e.entity_id
         WHERE e.tenant_id = $1 AND e.external_key = $2 AND NOT e.is_deleted
        """

    enum Variant: String, CaseIterable {
        case plainAsSuperuser = "before 0013: no setting, no wall (superuser)"
        case scopedAsSuperuser = "setting in the statement, wall bypassed (superuser)"
        case scopedAsServer = "setting in the statement, under the wall (tessera_app)"
        case unnamedAsServer = "the same, unnamed statements (tessera_app, direct)"
        case unnamedThroughPooler = "the same, unnamed statements through pgbouncer (transaction pooling)"

        var scoped: Bool { self != .plainAsSuperuser }
        var unnamed: Bool { self == .unnamedAsServer || self == .unnamedThroughPooler }
    }

    var variants: [Variant] { Variant.allCases.filter { $0 != .unnamedThroughPooler || self.pooled != nil } }

    func run() async throws -> [(Variant, LatencySummary)] {
        let keys = try await withPostgresClient(url: self.superuser, logger: self.logger) { client in
            var keys = [(Int64, String)]()
            let rows = try await client.query(
                "SELECT tenant_id, external_key FROM entities TABLESAMPLE SYSTEM (5) WHERE NOT is_deleted LIMIT 20000",
                logger: self.logger
            )
            for try await (tenant, key) in rows.decode((Int64, String).self) { keys.append((tenant, key)) }
            return keys
        }
        guard !keys.isEmpty else { throw ValidationErrorText("the dataset has no entities") }
        var samples = [Variant: [Double]]()
        for round in 0..<self.rounds {
            for variant in self.variants {
                let url: DatabaseURL
                switch variant {
                case .plainAsSuperuser, .scopedAsSuperuser: url = self.superuser
                case .scopedAsServer, .unnamedAsServer: url = self.server
                case .unnamedThroughPooler: url = self.pooled!
                }
                let measured = try await withPostgresClient(url: url, logger: self.logger) { client in
                    try await client.withConnection { connection in
                        try await Self.drive(variant, keys: keys, seed: UInt64(round), seconds: self.seconds, on: connection, logger: self.logger)
                    }
                }
                samples[variant, default: []].append(contentsOf: measured)
            }
        }
        return self.variants.map { ($0, LatencySummary(milliseconds: samples[$0] ?? [])) }
    }

    private static func drive(
        _ variant: Variant,
        keys: [(Int64, String)],
        seed: UInt64,
        seconds: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Double] {
        var random = SplitMix64(seed: seed)
        var latencies = [Double]()
        // Unmeasured first: the statement prepared, the buffers warm.
        let warm = ContinuousClock.now + .milliseconds(500)
        let end = warm + .seconds(seconds)
        while ContinuousClock.now < end {
            let (tenant, key) = keys[Int(random.next() % UInt64(keys.count))]
            let started = ContinuousClock.now
            var found = 0
            if variant.unnamed {
                let query = TenantScope.read(PostgresQuery(unsafeSQL: Self.lookup, binds: Self.binds(tenant, key)), tenant: tenant)
                for try await _ in try await connection.query(query, logger: logger) { found += 1 }
            } else if variant.scoped {
                for try await _ in try await connection.execute(Scoped(tenant: tenant, key: key), logger: logger) { found += 1 }
            } else {
                for try await _ in try await connection.execute(Plain(tenant: tenant, key: key), logger: logger) { found += 1 }
            }
            guard found == 1 else { throw ValidationErrorText("\(variant.rawValue): \(found) rows for \(key) of tenant \(tenant), expected 1") }
            if started >= warm { latencies.append((ContinuousClock.now - started).benchMilliseconds) }
        }
        return latencies
    }

    static func binds(_ tenant: Int64, _ key: String) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(tenant)
        bindings.append(key)
        return bindings
    }

    struct Plain: PostgresPreparedStatement {
        static let name = "bench_lookup_plain"
        static let sql = RowSecurityBench.lookup
        typealias Row = Int64
        var tenant: Int64
        var key: String
        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(self.tenant)
            bindings.append(self.key)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String, String?, Int64, Date, Date, String, String, Int64).self).0 }
    }

    struct Scoped: PostgresPreparedStatement {
        static let name = "bench_lookup_scoped"
        static let sql = TenantScope.wrap(RowSecurityBench.lookup, bindCount: 2)
        typealias Row = Int64
        var tenant: Int64
        var key: String
        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(self.tenant)
            bindings.append(self.key)
            bindings.append(String(self.tenant))
            bindings.appendRequestTag()
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String, String?, Int64, Date, Date, String, String, Int64).self).0 }
    }
}
