import ArgumentParser
import Foundation
import Logging

/// `tessera-bench scale`: the read operations and sustained ingest at growing
/// dataset sizes (1M, 10M, 50M values by default), each size in its own cluster
/// folder (kept and reused), and how each figure moves with size: the exponent of a
/// power law fitted to the medians (0: flat, 1: linear) and what it predicts at the
/// seed's 200M.
struct ScaleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Read and ingest figures at growing dataset sizes, and the curve they draw."
    )

    @Option(help: "Dataset sizes in values, comma-separated.") var sizes = "1M,10M,50M"
    @Option(help: "Size the curve is extrapolated to.") var predict = "200M"
    @Option(help: "Folder holding one cluster folder a size.") var dir = ".tessera-bench-scale"
    @Option(help: "Seconds per measured operation.") var seconds = 10
    @Option(help: "Seconds of sustained ingest a size.") var ingestSeconds = 20
    @Option(help: "Concurrent clients per read operation.") var clients = 4
    @Option(help: "Port of the benchmark's servers on 127.0.0.1 (this one and the next).") var port = 18186
    @Option(help: "Folder for the results (JSON).") var results = "bench/results"
    @Flag(help: "Two small sizes, a second each, for CI: checks it works; its figures mean nothing.") var smoke = false

    func run() async throws {
        var logger = Logger(label: "tessera.bench")
        logger.logLevel = .warning
        let sizes = try (self.smoke ? ["100k", "200k"] : self.sizes.split(separator: ",").map(String.init)).map(AllBenchCommand.count)
        let target = Double(try AllBenchCommand.count(self.predict))
        let seconds = self.smoke ? 1 : self.seconds
        let ingestSeconds = self.smoke ? 1 : self.ingestSeconds
        let clients = self.smoke ? 2 : self.clients
        var curves = [String: [Double]]()  // operation → p50 (ms) or rate, one a size
        let operations = ["entity lookup p50 ms", "filter p50 ms", "hourly aggregate p50 ms", "7-day series p50 ms", "ingest points/s", "ingest ack p95 ms"]

        for values in sizes {
            print("== \(values) values")
            let shape = ReadBenchDataset.Shape(entities: min(1_000_000, max(1_000, values / 20)), values: values, aggregateRows: min(1_000_000, values / 5))
            let dataset = ReadBenchDataset(shape: shape)
            let environment = try await BenchEnvironment.start(
                directory: "\(self.dir)/\(values)",
                replicas: 1,
                port: self.port,
                smoke: self.smoke,
                logger: logger
            )
            do {
                let keys = try await environment.dataset(dataset, logger: logger)
                try await environment.waitForReplicas()
                let runner = ReadBenchRunner(http: environment.http, base: environment.base, keys: keys, dataset: dataset, clients: clients, seconds: seconds)
                let layout = dataset.layout
                curves[operations[0], default: []].append(
                    try await runner.measure("entity lookup") { ReadOperations.http(ReadOperations.lookup(layout, &$0)) }.total.p50
                )
                curves[operations[1], default: []].append(
                    try await runner.measure("filter") { ReadOperations.http(ReadOperations.filter(layout, &$0)) }.total.p50
                )
                curves[operations[2], default: []].append(try await runner.measure("hourly aggregate") { _ in ReadOperations.aggregateHTTP() }.total.p50)
                curves[operations[3], default: []].append(try await runner.measure("7-day series") { _ in ReadOperations.seriesHTTP() }.total.p50)
                print("  sustained ingest...")
                let load = try await IngestBenchCommand.drive(
                    http: environment.http,
                    base: environment.base,
                    bodies: layout.bodies(seed: 77),
                    keys: keys,
                    clients: self.smoke ? 2 : 8,
                    seconds: ingestSeconds
                )
                // Until stored: the staging backlog the flush still had to move counts.
                let drain = try await environment.waitUntilFlushed()
                curves[operations[4], default: []].append(Double(load.acknowledgedPoints) / (load.elapsed + drain))
                curves[operations[5], default: []].append(LatencySummary(milliseconds: load.latencies).p95)
                // One size's PostgreSQL and Redis at a time on this machine.
                await environment.stop()
            } catch {
                await environment.stop()
                throw error
            }
        }

        print("")
        print("| figure | " + sizes.map { "\($0) values" }.joined(separator: " | ") + " | exponent | at \(self.predict) |")
        print("| --- | " + sizes.map { _ in "---:" }.joined(separator: " | ") + " | ---: | ---: |")
        var rows = [[String: String]]()
        for operation in operations {
            let figures = curves[operation] ?? []
            let fit = Self.powerLaw(sizes: sizes.map(Double.init), figures: figures)
            let predicted = fit.map { $0.scale * pow(target, $0.exponent) }
            print(
                "| \(operation) | " + figures.map { String(format: "%.1f", $0) }.joined(separator: " | ")
                    + " | \(fit.map { String(format: "%.2f", $0.exponent) } ?? "—") | \(predicted.map { String(format: "%.1f", $0) } ?? "—") |"
            )
            rows.append([
                "figure": operation, "values": figures.map { String($0) }.joined(separator: ","),
                "exponent": fit.map { String($0.exponent) } ?? "", "predicted": predicted.map { String($0) } ?? "",
            ])
        }
        let machine = AllBenchPlan.machine(postgres: "see bench all", influx: "—")
        try FileManager.default.createDirectory(atPath: self.results, withIntermediateDirectories: true)
        let path = "\(self.results)/\(machine.date.prefix(10))-\(machine.host)-scale.json"
        let document: [String: Any] = [
            "machine": ["host": machine.host, "date": machine.date, "cores": machine.cores, "memoryGiB": machine.memoryGiB],
            "sizes": sizes, "predictAt": Int(target), "figures": rows,
        ]
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        print("")
        print("Written to \(path).")
    }

    /// Least squares on log(figure) = log(scale) + exponent · log(size); nil with fewer than two positive points.
    static func powerLaw(sizes: [Double], figures: [Double]) -> (scale: Double, exponent: Double)? {
        let points = zip(sizes, figures).filter { $0.0 > 0 && $0.1 > 0 }.map { (log($0.0), log($0.1)) }
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        let meanX = points.map(\.0).reduce(0, +) / n
        let meanY = points.map(\.1).reduce(0, +) / n
        let spread = points.map { ($0.0 - meanX) * ($0.0 - meanX) }.reduce(0, +)
        guard spread > 0 else { return nil }
        let exponent = points.map { ($0.0 - meanX) * ($0.1 - meanY) }.reduce(0, +) / spread
        return (exp(meanY - exponent * meanX), exponent)
    }
}
