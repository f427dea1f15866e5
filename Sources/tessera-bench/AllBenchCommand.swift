import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore

/// `tessera-bench all`: the seed's performance table, answered in one run on one
/// machine by Tessera (over its HTTP API) and, on the same rows, by the
/// alternatives a user would pick: PostgreSQL's own COPY (the ingest ceiling), the
/// naive EAV table the seed started from, one JSONB document per entity, and
/// InfluxDB 1.x (Debian's `influxdb`, when installed). Prints one table and writes
/// it, with the machine, to `<results>/<date>-<host>.json` and `.md`.
struct AllBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Tessera beside COPY, naive EAV, pure JSONB and InfluxDB, on the same rows.")

    @Option(help: "Folder of the benchmark's own local cluster (the dataset and the peers' copies are kept there and reused).") var dir = ".tessera-bench-all"
    @Option(help: "Values in the synthetic dataset (20M, 2.5M, 500k, …).") var values = "20M"
    @Option(help: "Entities in the synthetic dataset.") var entities = 1_000_000
    @Option(help: "synthetic, or air-quality (the Beijing readings in --data-dir, through the line-protocol endpoint).") var dataset = "synthetic"
    @Option(help: "Folder of the air-quality CSV files.") var dataDir = "../shared/data/beijing-air-quality"
    @Option(help: "Seconds per measured read operation.") var seconds = 10
    @Option(help: "Seconds per sustained-ingest run (three runs a system; the median counts).") var ingestSeconds = 20
    @Option(help: "Concurrent clients per operation.") var clients = 4
    @Option(help: "Port of the benchmark's servers on 127.0.0.1 (this one and the next).") var port = 18184
    @Option(help: "InfluxDB is killed past this resident memory, and its remaining figures say so.") var influxMemoryGib = 6
    @Option(help: "Folder for the results (JSON and Markdown).") var results = "bench/results"
    @Option(help: "Streaming replicas of the benchmark's primary, on this machine (0: none, as InfluxDB has none; the lag row is then empty).")
    var replicas = 1
    @Option(help: "Database sessions that run each flush of Tessera's servers at once (TESSERA_FLUSH_SESSIONS).")
    var flushSessions = IngestPipeline.Configuration().flushSessions
    @Flag(help: "Seconds on a small dataset, for CI: checks it all works and the stored data is right; its figures mean nothing.") var smoke = false

    var logger: Logger {
        var logger = Logger(label: "tessera.bench")
        logger.logLevel = .warning
        return logger
    }

    func run() async throws {
        var shape = ReadBenchDataset.Shape(entities: self.entities, values: try Self.count(self.values))
        if self.smoke { shape = .init(entities: 10_000, values: 200_000, aggregateRows: 20_000) }
        let plan = AllBenchPlan(
            seconds: self.smoke ? 1 : self.seconds,
            ingestSeconds: self.smoke ? 1 : self.ingestSeconds,
            clients: self.smoke ? 2 : self.clients,
            runs: self.smoke ? 1 : 3,
            statementTimeout: .seconds(self.smoke ? 20 : 60),
            influxMemoryBytes: self.influxMemoryGib << 30,
            smoke: self.smoke
        )
        let environment = try await BenchEnvironment.start(
            directory: self.dir,
            replicas: max(0, self.replicas),
            port: self.port,
            smoke: self.smoke,
            flushSessions: max(1, self.flushSessions),
            logger: self.logger
        )
        do {
            let report: BenchReport
            var failures: [String]
            switch self.dataset {
            case "synthetic":
                (report, failures) = try await AllBenchSynthetic(
                    environment: environment,
                    dataset: ReadBenchDataset(shape: shape),
                    plan: plan,
                    directory: self.dir,
                    logger: self.logger
                ).run()
            case "air-quality":
                (report, failures) = try await AirQualityBench(
                    environment: environment,
                    dataFolder: self.dataDir,
                    plan: plan,
                    directory: self.dir,
                    logger: self.logger
                ).run()
            default:
                throw ValidationError("--dataset is synthetic or air-quality, not \(self.dataset)")
            }
            print("")
            print(report.markdown())
            let path = try report.write(to: self.results)
            print("")
            print("Written to \(path) (and .md beside it).")
            await environment.stop()
            if !failures.isEmpty {
                print("CHECKS FAILED: \(failures.joined(separator: "; "))")
                throw ExitCode(1)
            }
            print("Checks of stored data: all passed.")
        } catch {
            await environment.stop()
            print("bench all failed: \(String(reflecting: error))")
            throw error
        }
    }

    /// "20M", "2.5M", "500k", "200000".
    static func count(_ text: String) throws -> Int {
        let lower = text.lowercased()
        let multiplier = lower.hasSuffix("m") ? 1_000_000.0 : lower.hasSuffix("k") ? 1_000.0 : 1
        guard let number = Double(multiplier == 1 ? lower : String(lower.dropLast())), number > 0 else {
            throw ValidationError("--values is a count like 20M, 500k or 200000, not \(text)")
        }
        return Int(number * multiplier)
    }
}

/// How long and how hard `bench all` measures.
struct AllBenchPlan {
    var seconds: Int
    var ingestSeconds: Int
    var clients: Int
    /// Sustained-ingest runs per system; the median counts.
    var runs: Int
    var statementTimeout: Duration
    var influxMemoryBytes: Int
    var smoke: Bool

    var runner: PeerRunner { PeerRunner(clients: self.clients, seconds: Double(self.seconds)) }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    static func machine(postgres: String, influx: String) -> BenchReport.Machine {
        let formatter = ISO8601DateFormatter()
        return BenchReport.Machine(
            host: ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host",
            date: formatter.string(from: Date()),
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryGiB: Int((Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)).rounded()),
            postgres: postgres,
            influxdb: influx
        )
    }

    static func postgresVersion(_ client: PostgresClient) async throws -> String {
        for try await version in try await client.query("SHOW server_version").decode(String.self) { return version }
        return "?"
    }
}
