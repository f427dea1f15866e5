import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraServer
import TesseraTestSupport
import Testing

/// `/metrics` as Prometheus and an operator see it: every family has HELP text and a
/// TYPE, `promtool check metrics` finds nothing to say, and the series an alert reads
/// (flush lag, pools, breakers, reads by source, build and process) are there.
@Suite struct MetricsExpositionTests {
    @Test func promtoolFindsNothingAndTheOperatorsSeriesAreThere() async throws {
        let cache = CacheTests.settings(try await TestRedis.url())
        try await CacheTests.run(cache: cache) { client, dependencies in
            let tenant = try await client.createTenant("metrics")
            let written = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"m-1","attribute":"temp","value":21.5},{"entity":"m-1","attribute":"temp","value":"hot"}]}"#
            )
            #expect(written.status.code == 200 || written.status.code == 207, "\(written.text)")
            #expect(try await client.send(.get, "/v1/entities/m-1?consistency=strong", key: tenant.key).status == .ok)
            // Eventual reads until one is answered by the cache (it stores the first).
            var fromCache = false
            for _ in 0..<50 where !fromCache {
                let read = try await client.send(.get, "/v1/entities/m-1?consistency=eventual", key: tenant.key)
                fromCache = CacheTests.source(read) == "cache"
                if !fromCache { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(fromCache)
            let scrape = try await client.send(.get, "/metrics")
            #expect(scrape.status == .ok)
            let text = scrape.text

            let lint = try Self.promtool(text)
            #expect(lint.status == 0, "promtool check metrics: \(lint.output)")
            #expect(lint.output.isEmpty, "promtool check metrics: \(lint.output)")
            // Every family has its HELP text.
            let types = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
            let helped = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(types.subtracting(helped).isEmpty, "no HELP: \(types.subtracting(helped).sorted())")

            for series in [
                #"tessera_build_info{version=""#,
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_open_fds ",
                "tessera_ingest_flush_lag_seconds ",
                "tessera_ingest_queue_depth_points 0",
                "tessera_ingest_flush_failures_total",
                #"tessera_ingest_points_accepted_total{durability="safe"} 1"#,
                #"tessera_ingest_points_rejected_total{reason="type_mismatch"} 1"#,
                #"tessera_reads_total{consistency="strong",source="primary"} 1"#,
                #"tessera_reads_total{consistency="eventual",source="cache"} "#,
                #"tessera_read_node_breaker_open{node="primary",role="primary"} 0"#,
                #"tessera_db_pool_connections_open{pool="primary"}"#,
                #"tessera_db_pool_connections_in_use{pool="read-primary"} "#,
                #"tessera_db_pool_requests_waiting{pool="read-primary"} "#,
                "tessera_cache_breaker_open 0",
            ] {
                #expect(text.contains(series), "missing: \(series)")
            }
            // The pools really count: the primary's pools have opened connections by now, and
            // the database names them by pool.
            #expect((Self.value(#"tessera_db_pool_connections_open{pool="primary"}"#, in: text) ?? 0) >= 1)
            #expect((Self.value(#"tessera_db_pool_connections_open{pool="read-primary"}"#, in: text) ?? 0) >= 1)
            let names = try await dependencies.primary.query(
                "SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'tessera/%' AND datname = current_database()"
            )
            var seen = Set<String>()
            for try await name in names.decode(String.self) { seen.insert(name) }
            #expect(seen.isSuperset(of: ["tessera/primary", "tessera/read-primary"]), "\(seen.sorted())")
            #expect((Self.value("process_resident_memory_bytes", in: text) ?? 0) > 1_000_000)
        }
    }

    /// `promtool check metrics` on `text` (its standard input): exit status and output.
    static func promtool(_ text: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The value of the series line that starts with `series` (name and labels).
    static func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
