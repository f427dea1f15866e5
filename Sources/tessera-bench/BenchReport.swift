import Foundation

/// The one table `bench all` answers: rows are operations, columns the seed's target,
/// Tessera and each alternative, and Tessera's ratio to the best alternative (above
/// 1: Tessera is better — faster for latencies, more for throughputs). Printed as
/// Markdown and written as JSON beside it.
struct BenchReport: Encodable {
    static let systems = ["Tessera", "PostgreSQL COPY", "naive EAV", "pure JSONB", "InfluxDB"]

    struct Machine: Encodable {
        var host: String
        var date: String
        var cores: Int
        var memoryGiB: Int
        var postgres: String
        var influxdb: String
    }

    /// One figure: a latency (percentiles, ms), a rate, a percentage, or why there is none.
    struct Cell: Encodable {
        var p50: Double?
        var p95: Double?
        var p99: Double?
        var value: Double?
        var note: String?

        static func latency(_ summary: LatencySummary) -> Cell {
            Cell(p50: summary.p50, p95: summary.p95, p99: summary.p99)
        }

        static func rate(_ value: Double, note: String? = nil) -> Cell { Cell(value: value, note: note) }
        static func absent(_ why: String) -> Cell { Cell(note: why) }
        static func bytes(_ value: Double, note: String? = nil) -> Cell { Cell(value: value, note: note) }

        static func peer(_ result: PeerRunner.Result) -> Cell {
            result.didNotFinish ? .absent("did not finish") : .latency(result.latencies)
        }

        /// What the comparison uses: p50 of a latency, else the value.
        var figure: Double? { self.p50 ?? self.value }
    }

    enum Kind: String, Encodable {
        case latency, throughput, percent
        /// Bytes a value: fewer is better.
        case bytes
        /// CPU microseconds a value: fewer is better.
        case cpu
    }

    struct Row: Encodable {
        var operation: String
        var kind: Kind
        var target: String
        var cells: [String: Cell]
    }

    var machine: Machine
    var dataset: String
    var rows = [Row]()

    mutating func add(_ operation: String, _ kind: Kind, target: String, _ cells: [String: Cell]) {
        self.rows.append(Row(operation: operation, kind: kind, target: target, cells: cells))
    }

    /// Tessera's figure over the best alternative's, oriented so above 1 means Tessera is better.
    static func ratio(_ row: Row) -> Double? {
        guard let tessera = row.cells["Tessera"]?.figure, tessera > 0 else { return nil }
        let others = self.systems.dropFirst().compactMap { row.cells[$0]?.figure }.filter { $0 > 0 }
        switch row.kind {
        case .latency, .bytes, .cpu: return others.min().map { $0 / tessera }
        case .throughput, .percent: return others.max().map { tessera / $0 }
        }
    }

    func markdown() -> String {
        var lines = [
            "Machine: \(self.machine.host), \(self.machine.cores) cores, \(self.machine.memoryGiB) GiB; PostgreSQL \(self.machine.postgres); InfluxDB \(self.machine.influxdb); \(self.machine.date)",
            "Dataset: \(self.dataset)",
            "",
            "| operation | seed target | " + Self.systems.joined(separator: " | ") + " | Tessera ÷ best other |",
            "| --- | --- | " + Self.systems.map { _ in "---:" }.joined(separator: " | ") + " | ---: |",
        ]
        for row in self.rows {
            let cells = Self.systems.map { system in row.cells[system].map { Self.text($0, row.kind) } ?? "—" }
            let ratio = Self.ratio(row).map { String(format: "%.2f×", $0) } ?? "—"
            lines.append("| \(row.operation) | \(row.target) | " + cells.joined(separator: " | ") + " | \(ratio) |")
        }
        lines.append("")
        lines.append("Latencies: p50 / p99 in ms. Tessera's go through its HTTP API; the peers' are their own protocol (SQL, InfluxQL over HTTP).")
        return lines.joined(separator: "\n")
    }

    private static func text(_ cell: Cell, _ kind: Kind) -> String {
        if let p50 = cell.p50, let p99 = cell.p99 { return "\(self.number(p50)) / \(self.number(p99))" }
        if let value = cell.value {
            let figure =
                switch kind {
                case .percent: String(format: "%.1f%%", value)
                case .bytes: String(format: "%.1f B", value)
                case .cpu: String(format: "%.1f µs", value)
                default: "\(Int(value.rounded()))/s"
                }
            return cell.note.map { "\(figure) (\($0))" } ?? figure
        }
        return cell.note ?? "—"
    }

    private static func number(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: value >= 10 ? "%.1f" : "%.2f", value)
    }

    /// Writes `<date>-<host>.json` and `.md` into `folder`; returns the JSON's path.
    func write(to folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // A second run the same day on the same host gets -2, -3, …: results are kept.
        let base = "\(folder)/\(self.machine.date.prefix(10))-\(self.machine.host)"
        var stem = base
        var run = 1
        while FileManager.default.fileExists(atPath: stem + ".json") {
            run += 1
            stem = "\(base)-\(run)"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: stem + ".json"))
        try Data(self.markdown().utf8).write(to: URL(fileURLWithPath: stem + ".md"))
        return stem + ".json"
    }
}
