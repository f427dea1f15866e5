import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraLocal

/// The air-quality run's cold months (issue 22's storage target): bytes a value as rows, then
/// every month packed in the database (`tessera archive pack`), against InfluxDB's folders on
/// the same values; and the reads of one cold month (June 2016) through the API on its rows and
/// again once packed, beside the same InfluxQL. The packed reads must answer what the rows did.
struct AirQualityColdMonths {
    let environment: BenchEnvironment
    let plan: AllBenchPlan
    let influx: InfluxSession?
    let tenantID: Int64
    let key: String
    let values: Int
    let directory: String
    let logger: Logger

    static let stations = ["Aotizhongxin", "Changping", "Dingling", "Dongsi", "Huairou", "Tiantan"]
    /// The dataset's months: 2013-03 to 2017-02.
    static let lastMonth = "2017-02"

    /// One read of the cold month, through Tessera's API and as InfluxQL.
    struct Read {
        var name: String
        var tessera: @Sendable (BenchEnvironment, String, String) async throws -> String
        var influxQL: @Sendable (String) -> String
    }

    static let reads: [Read] = [
        Read(
            name: "7-day PM2.5 series of a station (168 points)",
            tessera: { environment, station, key in
                try await environment.get(
                    "/v1/entities/air_quality%2Cstation%3D\(station)/series/PM2.5?from=2016-06-08T00:00:00Z&to=2016-06-15T00:00:00Z&consistency=strong",
                    key: key
                )
            },
            influxQL: { #"SELECT "PM2.5" FROM air_quality WHERE station = '\#($0)' AND time >= '2016-06-08T00:00:00Z' AND time < '2016-06-15T00:00:00Z'"# }
        ),
        Read(
            name: "the month's PM2.5 series of a station (720 points)",
            tessera: { environment, station, key in
                try await environment.get(
                    "/v1/entities/air_quality%2Cstation%3D\(station)/series/PM2.5?from=2016-06-01T00:00:00Z&to=2016-07-01T00:00:00Z&limit=1000&consistency=strong",
                    key: key
                )
            },
            influxQL: { #"SELECT "PM2.5" FROM air_quality WHERE station = '\#($0)' AND time >= '2016-06-01T00:00:00Z' AND time < '2016-07-01T00:00:00Z'"# }
        ),
        Read(
            name: "daily mean PM2.5 of each station over the month (from the points)",
            tessera: { environment, _, key in
                try await environment.post(
                    "/v1/query/aggregate",
                    body:
                        #"{"attribute": "PM2.5", "from": "2016-06-01T00:00:00Z", "to": "2016-07-01T00:00:00Z", "bucket": "1d", "fn": ["avg", "count"], "group_by": "entity"}"#,
                    key: key
                )
            },
            influxQL: { _ in
                #"SELECT mean("PM2.5"), count("PM2.5") FROM air_quality WHERE time >= '2016-06-01T00:00:00Z' AND time < '2016-07-01T00:00:00Z' GROUP BY time(1d), station"#
            }
        ),
        Read(
            name: "a station's last PM2.5 before a time in the month",
            tessera: { environment, station, key in
                try await environment.get(
                    "/v1/entities/air_quality%2Cstation%3D\(station)/series/PM2.5?to=2016-06-20T12:30:00Z&order=desc&limit=1&consistency=strong",
                    key: key
                )
            },
            influxQL: {
                #"SELECT last("PM2.5") FROM air_quality WHERE station = '\#($0)' AND time >= '2016-06-01T00:00:00Z' AND time < '2016-06-20T12:30:00Z'"#
            }
        ),
    ]

    /// The loaded InfluxDB is restarted so that its cold shards are compacted fully (as they
    /// are 4 hours after their last write), measured once its folders stop changing, and read;
    /// then stopped.
    func run(report: inout BenchReport, failures: inout [String]) async throws {
        print("Cold months: every month as rows, then packed")
        var compacted: InfluxSession?
        if let influx {
            await influx.stop()
            compacted = try await InfluxSession.start(
                directory: influx.directory,
                http: self.environment.http,
                memoryLimitBytes: self.plan.influxMemoryBytes,
                fullCompactionAfterSeconds: 10,
                logger: self.logger
            )
        }
        do {
            try await self.measure(influx: compacted, report: &report, failures: &failures)
            await compacted?.stop()
        } catch {
            await compacted?.stop()
            throw error
        }
    }

    private func measure(influx: InfluxSession?, report: inout BenchReport, failures: inout [String]) async throws {
        let influxBytes = try await influx?.bytesOnceSettled(limit: .seconds(300))
        let runner = PeerRunner(clients: self.plan.clients, seconds: Double(self.plan.seconds))
        let rowsBytes = try await self.bytes(packs: false)
        let answers = try await self.answers()
        var rowsLatency = [String: BenchReport.Cell]()
        var influxLatency = [String: BenchReport.Cell]()
        for read in Self.reads {
            rowsLatency[read.name] = .peer(
                await runner.measure("Tessera, rows: \(read.name)") { random in
                    _ = try await read.tessera(self.environment, Self.stations[Int(random.next() % 6)], self.key)
                }
            )
            if let influx {
                influxLatency[read.name] = .peer(
                    await runner.measure("InfluxDB: \(read.name)") { random in
                        _ = try await influx.peer.query(
                            database: "air",
                            read.influxQL(Self.stations[Int(random.next() % 6)]),
                            timeout: self.plan.statementTimeout
                        )
                    }
                )
            }
        }

        // Every month of the dataset packed, as an operator does it.
        let archiver = try MonthArchiver(url: self.environment.primary, directory: self.directory + "/archive", settle: .zero, logger: self.logger)
        let started = ContinuousClock.now
        let months = try await offloaded { try archiver.monthsToPack(olderThan: 1).filter { $0 <= Self.lastMonth } }
        var packed: Int64 = 0
        let reports = try await offloaded { try archiver.pack(months) }
        for report in reports { packed += report.points }
        if reports.contains(where: { !$0.reclaimed }) { print("  (a snapshot older than the packing outlived the wait: rows' space not all given back)") }
        let packSeconds = (ContinuousClock.now - started).benchSeconds
        if packed != Int64(self.values) { failures.append("packing the air-quality months packed \(packed) values of \(self.values)") }
        let (inPacks, inRows) = try await self.tenantPoints()
        if inPacks != Int64(self.values) || inRows != 0 {
            failures.append("after packing, the tenant holds \(inPacks) packed values and \(inRows) rows, of \(self.values) values")
        }
        let packedBytes = try await self.bytes(packs: true)
        if try await self.answers() != answers { failures.append("a read of the packed month June 2016 answered otherwise than on its rows") }
        var packedLatency = [String: BenchReport.Cell]()
        for read in Self.reads {
            packedLatency[read.name] = .peer(
                await runner.measure("Tessera, packed: \(read.name)") { random in
                    _ = try await read.tessera(self.environment, Self.stations[Int(random.next() % 6)], self.key)
                }
            )
        }

        let influxCell = influxBytes.map {
            BenchReport.Cell.bytes(Double($0) / Double(max(self.values, 1)), note: "data and WAL on disk, every shard compacted fully")
        }
        report.add(
            "storage: bytes per value, every month as rows",
            .bytes,
            target: "—",
            ["Tessera": .bytes(Double(rowsBytes) / Double(max(self.values, 1))), "InfluxDB": influxCell ?? .absent("not installed")]
        )
        report.add(
            "storage: bytes per value, every month packed",
            .bytes,
            target: "—",
            [
                "Tessera": .bytes(
                    Double(packedBytes) / Double(max(self.values, 1)),
                    note: String(format: "%d months packed in %.1f s", months.count, packSeconds)
                ),
                "InfluxDB": influxCell ?? .absent("not installed"),
            ]
        )
        for read in Self.reads {
            for (state, cells) in [("rows", rowsLatency), ("packed", packedLatency)] {
                var row = ["Tessera": cells[read.name] ?? .absent("not measured")]
                row["InfluxDB"] = influxLatency[read.name] ?? .absent("not installed")
                report.add("June 2016 (\(state)): \(read.name)", .latency, target: "—", row)
            }
        }
        print(
            "  \(self.values) values: \(rowsBytes / 1024) KiB as rows, \(packedBytes / 1024) KiB packed (\(months.count) months in "
                + String(format: "%.1f s)", packSeconds) + (influxBytes.map { "; InfluxDB \($0 / 1024) KiB" } ?? "")
        )
    }

    /// What each read answers for the first station, without where it was served from.
    private func answers() async throws -> [String] {
        var answers = [String]()
        for read in Self.reads {
            let body = try await read.tessera(self.environment, Self.stations[0], self.key)
            guard case .object(let members) = try JSONReader.parse(Array(body.utf8)) else {
                throw ValidationErrorText("\(read.name) answered \(body.prefix(200))")
            }
            answers.append(members.filter { ["points", "buckets"].contains($0.0) }.map { "\($0.0)=\($0.1)" }.joined(separator: ";"))
        }
        return answers
    }

    /// The tenant's points in packs and as rows.
    private func tenantPoints() async throws -> (Int64, Int64) {
        try await withPostgresClient(url: self.environment.primary, logger: self.logger) { client in
            let sql = """
                SELECT (SELECT coalesce(sum(points), 0) FROM entity_values_packed WHERE tenant_id = \(self.tenantID))::bigint,
                       (SELECT count(*) FROM entity_values_ts WHERE tenant_id = \(self.tenantID))::bigint
                """
            for try await (packs, rows) in try await client.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).decode((Int64, Int64).self) {
                return (packs, rows)
            }
            return (0, 0)
        }
    }

    /// The dataset's months on disk (heap, indexes, TOAST of their partitions), with the packs.
    private func bytes(packs: Bool) async throws -> Int64 {
        try await withPostgresClient(url: self.environment.primary, logger: self.logger) { client in
            let sql = """
                SELECT (coalesce(sum(pg_total_relation_size(c.oid)), 0)
                        + \(packs ? "pg_total_relation_size('entity_values_packed')" : "0"))::bigint
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'entity_values_ts'::regclass AND c.relname <= 'entity_values_ts_p201702'
                """
            for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).decode(Int64.self) { return value }
            return 0
        }
    }
}
