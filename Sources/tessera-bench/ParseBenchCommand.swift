import ArgumentParser
import Foundation
import NIOCore
import TesseraCore
import TesseraStore

/// `tessera-bench parse`: a lower bound of what the server's own code spends on a value of
/// the air-quality readings before the database sees it, on one core and with no I/O, in
/// 300-line bodies as `bench all` sends them — the body split into lines and each parsed
/// (as `/write` does), the names checked, the points typed and given ids from maps (as a
/// warm catalog cache gives them), the last of each point kept in key order, and the COPY
/// text of the staging rows. Left out: HTTP, the resolver's locks and time checks, the
/// queue, COPY itself. Beside InfluxDB's whole cost a value (`bench all --dataset
/// air-quality`), it says how much of Tessera's budget is gone before PostgreSQL starts.
struct ParseBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "CPU a value of the server's parse, typing and staging encode of the air-quality readings (a lower bound: no I/O)."
    )

    @Option(help: "Folder of the air-quality CSV files (PRSA_Data_*.csv).")
    var data = "../shared/data/beijing-air-quality"

    @Option(help: "Passes over the whole readings; the median is reported.")
    var repetitions = 5

    @Flag(help: "The first 2,000 hours of each station and one pass: checks the command runs.")
    var smoke = false

    func run() throws {
        let batches = try AirQualityBench.batches(folder: self.data, lines: 300, hoursPerStation: self.smoke ? 2_000 : nil)
        let values = batches.reduce(0) { $0 + $1.values }
        print("Parse: \(batches.count) bodies, \(batches.reduce(0) { $0 + $1.lines }) lines, \(values) values")
        var samples = StepSamples()
        var stored = 0
        for _ in 0..<(self.smoke ? 1 : self.repetitions) {
            stored = try ServerSideSteps(batches: batches).measure(into: &samples)
        }
        guard stored == values else { throw ValidationErrorText("encoded \(stored) rows for \(values) values") }
        for (step, seconds) in samples.medians {
            let micros = seconds * 1e6 / Double(values)
            print("PARSE|\(step)|\(String(format: "%.3f", micros)) µs a value|\(String(format: "%.0f", Double(values) / seconds)) values/s on one core")
        }
    }
}

/// Each step's CPU seconds over the passes.
struct StepSamples {
    private(set) var seconds: [(step: String, samples: [Double])] = []

    mutating func add(_ step: String, _ value: Double) {
        if let index = self.seconds.firstIndex(where: { $0.step == step }) {
            self.seconds[index].samples.append(value)
        } else {
            self.seconds.append((step, [value]))
        }
    }

    var medians: [(String, Double)] {
        self.seconds.map { ($0.step, $0.samples.sorted()[$0.samples.count / 2]) }
    }
}

/// One pass over the readings, each step timed by the thread's CPU clock.
struct ServerSideSteps {
    let batches: [AirQualityBench.Batch]

    /// Returns the staging rows encoded.
    func measure(into samples: inout StepSamples) throws -> Int {
        let parser = LineProtocolParser(precision: .seconds)
        var parsed = [[IncomingPoint]]()
        var seconds = Self.cpuSeconds {
            parsed = self.batches.map { batch in Self.points(batch.body, parser) }
        }
        samples.add("lines split and parsed", seconds)

        var entities = [ExactKey: Int64]()
        var attributes = [ExactKey: (id: Int32, type: ValueType)]()
        let rules = ValueRules()
        var rows = [[IngestRow]]()
        var failure: TesseraError?
        seconds = Self.cpuSeconds {
            rows = parsed.map { points in
                var batch = [IngestRow]()
                batch.reserveCapacity(points.count)
                for point in points {
                    do throws(TesseraError) {
                        try NameRules.validateEntityKey(point.entityKey)
                        try NameRules.validateAttributeName(point.attribute)
                        let entity = entities[ExactKey(point.entityKey)] ?? Self.add(point.entityKey, to: &entities)
                        let attribute = attributes[ExactKey(point.attribute)] ?? Self.add(point, to: &attributes)
                        let value = try rules.coerce(point.value, to: attribute.type, attribute: point.attribute)
                        batch.append(IngestRow(tenantID: 1, entityID: entity, attributeID: attribute.id, value: value, timestamp: point.timestamp ?? 0))
                    } catch {
                        failure = error
                    }
                }
                return batch
            }
        }
        if let failure { throw ValidationErrorText("a reading was refused: \(failure.detail)") }
        samples.add("names checked, typed, ids from maps", seconds)

        var prepared = [[IngestRow]]()
        seconds = Self.cpuSeconds {
            prepared = rows.map { StagingEncoder.prepare($0) }
        }
        samples.add("last of each point, sorted by key", seconds)

        var buffers = [ByteBuffer]()
        seconds = Self.cpuSeconds {
            buffers = prepared.enumerated().map { index, batch in StagingEncoder.encode(batch, batchID: Int64(index + 1)) }
        }
        samples.add("COPY text", seconds)
        return buffers.reduce(0) { count, buffer in count + buffer.readableBytesView.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } }
    }

    /// A body's points as `/write` reads them: split into lines, blank lines skipped, each parsed.
    private static func points(_ body: ByteBuffer, _ parser: LineProtocolParser) -> [IncomingPoint] {
        var splitter = LineSplitter(maxLineBytes: 512 << 10, quoteAware: true)
        var points = [IncomingPoint]()
        for piece in splitter.feed(body.readableBytesView) + splitter.finish() {
            guard case .line(let bytes, let line) = piece, !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
            if let parsed = try? parser.parseLine(bytes, lineNumber: line) { points += parsed.incomingPoints(index: line) }
        }
        return points
    }

    private static func add(_ key: String, to entities: inout [ExactKey: Int64]) -> Int64 {
        let id = Int64(entities.count + 1)
        entities[ExactKey(key)] = id
        return id
    }

    private static func add(_ point: IncomingPoint, to attributes: inout [ExactKey: (id: Int32, type: ValueType)]) -> (id: Int32, type: ValueType) {
        let attribute = (id: Int32(attributes.count + 1), type: ValueRules.inferType(point.value) ?? .text)
        attributes[ExactKey(point.attribute)] = attribute
        return attribute
    }

    /// The calling thread's CPU time spent in `body`.
    static func cpuSeconds(_ body: () -> Void) -> Double {
        var start = timespec()
        var end = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
        body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }
}
