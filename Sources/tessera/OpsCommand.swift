import ArgumentParser
import Foundation
import TesseraStore

/// `tessera ops`: what an operator runs by hand (README: Operating Tessera).
struct OpsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Operator tools: the monitoring queries of ops/monitoring.sql.",
        subcommands: [Report.self, SQL.self]
    )

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the monitoring queries (all, or those named) as the superuser or owner and print each as a table."
        )
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Query names (default: all): \(MonitoringQuery.all.map(\.name).joined(separator: ", ")).") var names: [String] = []

        func run() async throws {
            let logger = self.options.makeLogger()
            let known = Set(MonitoringQuery.all.map(\.name))
            if let unknown = self.names.first(where: { !known.contains($0) }) {
                throw ValidationError("No monitoring query is named '\(unknown)'; there are: \(MonitoringQuery.all.map(\.name).joined(separator: ", ")).")
            }
            let queries = self.names.isEmpty ? MonitoringQuery.all : MonitoringQuery.all.filter { self.names.contains($0.name) }
            let url = try self.options.primaryURL(logger: logger)
            try await withPostgresClient(url: url, logger: logger) { client in
                for query in queries {
                    print("== \(query.name): \(query.shows)")
                    do {
                        let rows = try await query.run(on: client, logger: logger)
                        print(TextTable.render(header: query.columns, rows: rows))
                    } catch {
                        print("   not available: \(String(reflecting: error).prefix(300))")
                    }
                    print("   Look for: \(query.lookFor)\n")
                }
            }
        }
    }

    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print ops/monitoring.sql (the queries with their comments).")

        func run() {
            print(MonitoringQuery.file, terminator: "")
        }
    }
}

/// Rows as a plain-text table: columns padded to their widest cell (at most 60
/// characters), a rule under the header, `(n rows)` after.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let clipped = rows.map { $0.map { $0.count > 60 ? String($0.prefix(57)) + "..." : $0 } }
        var widths = header.map(\.count)
        for row in clipped {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            "   " + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        var lines = [line(header), "   " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-")]
        lines += clipped.map(line)
        lines.append("   (\(rows.count) row\(rows.count == 1 ? "" : "s"))")
        return lines.joined(separator: "\n")
    }
}
