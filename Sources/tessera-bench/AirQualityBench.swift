import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TesseraCore
import TesseraStore

/// `bench all --dataset air-quality`: the real Beijing readings (6 stations, hourly,
/// 2013–2017, 12 measurements; `NA` cells skipped) written as InfluxDB line protocol
/// — measurement `air_quality`, tag `station`, one field a measurement — through
/// Tessera's `/write` and through InfluxDB's, then the latest state of a station
/// and a year of daily PM2.5 read back from both. Dense lines (about 11 values a
/// line), where InfluxDB stores a line's fields together and Tessera a row a value:
/// the table gives values/s and lines/s.
struct AirQualityBench {
    let environment: BenchEnvironment
    let dataFolder: String
    let plan: AllBenchPlan
    let directory: String
    let logger: Logger

    func run() async throws -> (BenchReport, [String]) {
        print("Air quality: reading \(self.dataFolder)")
        let influx = try await InfluxSession.start(
            directory: self.directory + "/influxdb",
            http: self.environment.http,
            memoryLimitBytes: self.plan.influxMemoryBytes,
            logger: self.logger
        )
        do {
            let result = try await self.measure(influx: influx)
            await influx?.stop()
            return result
        } catch {
            await influx?.stop()
            throw error
        }
    }

    private func measure(influx: InfluxSession?) async throws -> (BenchReport, [String]) {
        // InfluxDB takes 5,000-line batches (its documented size); Tessera 300-line ones
        // (~3,500 values, one parse chunk), so one request either fits its tenant's queue share or is
        // refused whole (429) and retried, instead of waiting half-taken.
        let batches = try self.batches(lines: 5_000)
        let tesseraBatches = try self.batches(lines: 300)
        let lines = batches.reduce(0) { $0 + $1.lines }
        let values = batches.reduce(0) { $0 + $1.values }
        var failures = [String]()
        if values == 0 { failures.append("no values in \(self.dataFolder)") }
        let postgres = try await withPostgresClient(url: self.environment.primary, logger: self.logger) { try await AllBenchPlan.postgresVersion($0) }
        var report = BenchReport(
            machine: AllBenchPlan.machine(postgres: postgres, influx: influx?.version ?? "not installed"),
            dataset: "air-quality: \(lines) lines, \(values) values (6 stations, hourly 2013-03 to 2017-02, NA skipped)"
        )

        let (tenant, key) = try await self.environment.dependencies.catalog.createTenant(name: "air-quality-\(Int(Date().timeIntervalSince1970))")
        for field in Self.fields {
            let type: ValueType = field == "wd" ? .text : .decimal
            _ = try await self.environment.dependencies.catalog.putAttribute(.init(name: field, type: type, hot: true), tenant: tenant)
        }
        // Each load starts on a quiet machine and is charged the CPU the machine spends until it
        // is quiet again (InfluxDB compacts after it answers; Tessera's flush drains).
        let meter = MachineCPU(smoke: self.plan.smoke)
        var cost = CPUCost()
        let ((tessera, tesseraStored), tesseraCPU) = try await meter.accounted("Tessera") {
            let loadStarted = ContinuousClock.now
            let acknowledged = try await self.loadThroughWrite(tesseraBatches, key: key.value)
            // Stored: until the flush has stored the last acknowledged point (issue 22's measure;
            // InfluxDB answers a write once it is in its WAL, so its load is its stored rate).
            return (acknowledged, try await self.environment.waitUntilFlushed(since: loadStarted))
        }
        cost.add("Tessera", values: values, cpu: tesseraCPU)
        var influxLoad: Double?
        if let influx {
            try await influx.peer.createDatabase("air")
            let (seconds, influxCPU) = try await meter.accounted("InfluxDB") {
                try await self.load(batches) { try await influx.peer.write(database: "air", lines: $0, precision: "s") }
            }
            influxLoad = seconds
            cost.add("InfluxDB", values: values, cpu: influxCPU)
        }
        report.add(
            "load through line protocol, values/s stored",
            .throughput,
            target: "≥ 10,000/s",
            [
                "Tessera": .rate(Double(values) / tesseraStored),
                "InfluxDB": influxLoad.map { .rate(Double(values) / $0) } ?? .absent("not installed"),
            ]
        )
        report.add(
            "load through line protocol, values/s acknowledged",
            .throughput,
            target: "—",
            [
                "Tessera": .rate(Double(values) / tessera), "InfluxDB": influxLoad.map { .rate(Double(values) / $0) } ?? .absent("not installed"),
            ]
        )
        report.add(
            "load through line protocol, lines/s",
            .throughput,
            target: "—",
            [
                "Tessera": .rate(Double(lines) / tessera), "InfluxDB": influxLoad.map { .rate(Double(lines) / $0) } ?? .absent("not installed"),
            ]
        )

        report.add("load through line protocol, CPU a stored value (whole machine, until quiet again)", .cpu, target: "—", cost.cells(note: nil))

        // Checks: every value stored, in both.
        try await self.environment.waitUntilFlushed()
        let stored = try await withPostgresClient(url: self.environment.primary, logger: self.logger) { client in
            for try await count in try await client.query("SELECT count(*)::bigint FROM entity_values_ts WHERE tenant_id = \(tenant.id)").decode(Int.self) {
                return count
            }
            return 0
        }
        if stored != values { failures.append("Tessera stored \(stored) air-quality values of \(values)") }
        if let influx {
            var counted = 0
            for series in try await influx.peer.query(database: "air", "SELECT count(*) FROM air_quality", timeout: .seconds(60)) {
                for row in series.values { counted += row.dropFirst().reduce(0) { $0 + Int($1.number ?? 0) } }
            }
            if counted != values { failures.append("InfluxDB holds \(counted) air-quality values of \(values)") }
        }

        // Reads.
        let stations = ["Aotizhongxin", "Changping", "Dingling", "Dongsi", "Huairou", "Tiantan"]
        let runner = PeerRunner(clients: self.plan.clients, seconds: Double(self.plan.seconds))
        var cells = [String: BenchReport.Cell]()
        cells["Tessera"] = .peer(
            await runner.measure("Tessera: latest state of a station") { random in
                let station = stations[Int(random.next() % UInt64(stations.count))]
                try await self.environment.get("/v1/entities/air_quality%2Cstation%3D\(station)", key: key.value)
            }
        )
        if let influx {
            cells["InfluxDB"] = .peer(
                await runner.measure("InfluxDB: latest state of a station") { random in
                    let station = stations[Int(random.next() % UInt64(stations.count))]
                    _ = try await influx.peer.query(
                        database: "air",
                        "SELECT last(*) FROM air_quality WHERE station = '\(station)'",
                        timeout: self.plan.statementTimeout
                    )
                }
            )
        }
        report.add("latest state of one station", .latency, target: "< 10 ms", cells)
        cells = [:]
        let year =
            #"{"attribute": "PM2.5", "from": "2016-01-01T00:00:00Z", "to": "2017-01-01T00:00:00Z", "bucket": "1d", "fn": ["avg", "min", "max", "count"]}"#
        cells["Tessera"] = .peer(
            await runner.measure("Tessera: daily PM2.5 over 2016, all stations") { _ in
                try await self.environment.post("/v1/query/aggregate", body: year, key: key.value)
            }
        )
        if let influx {
            cells["InfluxDB"] = .peer(
                await runner.measure("InfluxDB: daily PM2.5 over 2016, all stations") { _ in
                    _ = try await influx.peer.query(
                        database: "air",
                        #"SELECT mean("PM2.5"), min("PM2.5"), max("PM2.5"), count("PM2.5") FROM air_quality WHERE time >= '2016-01-01T00:00:00Z' AND time < '2017-01-01T00:00:00Z' GROUP BY time(1d)"#,
                        timeout: self.plan.statementTimeout
                    )
                }
            )
        }
        report.add("daily PM2.5 over 2016, 6 stations (~52k values)", .latency, target: "< 1 s", cells)

        // Cold months: as rows, then packed in the database (issue 22's storage target).
        if stored == values {
            try await AirQualityColdMonths(
                environment: self.environment,
                plan: self.plan,
                influx: influx,
                tenantID: tenant.id,
                key: key.value,
                values: values,
                directory: self.directory,
                logger: self.logger
            ).run(report: &report, failures: &failures)
        }
        return (report, failures)
    }

    static let fields = ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "wd", "WSPM"]

    struct Batch {
        var body: ByteBuffer
        var lines: Int
        var values: Int
    }

    /// The CSV files as line protocol in batches of `size` lines (the data is 16 MB: it fits in memory).
    /// Smoke runs take the first 2,000 hours of each station.
    func batches(lines size: Int) throws -> [Batch] {
        try Self.batches(folder: self.dataFolder, lines: size, hoursPerStation: self.plan.smoke ? 2_000 : nil)
    }

    /// The CSV files in `folder` as line protocol in batches of `size` lines; with
    /// `hoursPerStation`, only each station's first hours.
    static func batches(folder: String, lines size: Int, hoursPerStation: Int?) throws -> [Batch] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".csv") }.sorted()
        guard !files.isEmpty else { throw ValidationErrorText("no CSV files in \(folder)") }
        var batches = [Batch]()
        var current = Batch(body: ByteBufferAllocator().buffer(capacity: 1 << 20), lines: 0, values: 0)
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            // "\r\n" is one Character: split on both.
            let rows = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst().prefix(hoursPerStation ?? .max)
            for line in rows {
                guard let (protocolLine, values) = Self.lineProtocol(csv: line) else { continue }
                current.body.writeString(protocolLine)
                current.lines += 1
                current.values += values
                if current.lines == size {
                    batches.append(current)
                    current = Batch(body: ByteBufferAllocator().buffer(capacity: 1 << 20), lines: 0, values: 0)
                }
            }
        }
        if current.lines > 0 { batches.append(current) }
        return batches
    }

    /// One CSV row (No, year, month, day, hour, 12 fields, station) as a line; nil when every field is NA.
    static func lineProtocol(csv: Substring) -> (String, Int)? {
        let cells = csv.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"\r")) }
        guard cells.count == 18, let year = Int(cells[1]), let month = Int(cells[2]), let day = Int(cells[3]), let hour = Int(cells[4]) else { return nil }
        var fields = [String]()
        for (offset, name) in Self.fields.enumerated() {
            let cell = cells[5 + offset]
            if cell == "NA" || cell.isEmpty { continue }
            fields.append(name == "wd" ? "\(name)=\"\(cell)\"" : "\(name)=\(cell)")
        }
        guard !fields.isEmpty else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour) = (year, month, day, hour)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3_600)!
        guard let date = calendar.date(from: components) else { return nil }
        return ("air_quality,station=\(cells[17]) \(fields.joined(separator: ",")) \(Int(date.timeIntervalSince1970))\n", fields.count)
    }

    /// Tessera's load through `/write`, as an Influx client meets backpressure; returns the seconds it took.
    private func loadThroughWrite(_ batches: [Batch], key: String) async throws -> Double {
        try await self.load(batches) { batch in
            var request = HTTPClientRequest(url: self.environment.base + "/write?db=air&precision=s")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Token \(key)")
            request.body = .bytes(batch)
            // Backpressure, as an Influx client meets it: a 429 or 503 that took nothing is retried
            // after Retry-After; one that says points were taken is not (a retry would double them).
            for _ in 0..<600 {
                let response = try await self.environment.http.execute(request, timeout: .seconds(60))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                if response.status == .noContent { return }
                guard [429, 503].contains(response.status.code), !body.contains("were accepted") else {
                    throw ValidationErrorText("Tessera /write answered \(response.status.code): \(body.prefix(200))")
                }
                let wait = response.headers.first(name: "Retry-After").flatMap(Double.init) ?? 1
                try await Task.sleep(for: .milliseconds(Int(min(wait, 1) * 200)))
            }
            throw ValidationErrorText("Tessera /write stayed saturated for 600 tries")
        }
    }

    /// Writes every batch from `plan.clients` writers; returns the seconds it took.
    private func load(_ batches: [Batch], _ write: @escaping @Sendable (ByteBuffer) async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        let writers = self.plan.clients
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let mine = stride(from: writer, to: batches.count, by: writers).map { batches[$0].body }
                group.addTask { for body in mine { try await write(body) } }
            }
            try await group.waitForAll()
        }
        let took = ContinuousClock.now - started
        return took.benchSeconds
    }
}
