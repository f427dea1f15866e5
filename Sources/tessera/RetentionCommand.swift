import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore

/// `tessera retention run [--dry-run] [--at TIME]`: per-tenant retention on demand, as the
/// servers apply it on a schedule (README: Data lifecycle).
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Per-tenant retention: drop the partitions past every tenant's window, delete each tenant's expired points.",
        subcommands: [Run.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply retention now (servers do it every TESSERA_RETENTION_INTERVAL_SECONDS), or show what it would do."
        )
        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Show what would go, change nothing.") var dryRun = false
        @Option(help: "Judge as of this RFC 3339 time instead of now (what a run on that day would do).") var at: String?
        @Option(help: "Points deleted a transaction.") var batchSize = 5_000

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            var now = Date()
            if let at = self.at {
                guard let micros = Timestamps.parseRFC3339(at) else { throw ValidationError("--at must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z.") }
                now = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
            }
            let options = RetentionRunner.Options(batchSize: max(1, self.batchSize))
            let dryRun = self.dryRun
            let judgedAt = now
            let report = try await withPostgresClient(url: url, logger: logger) { client in
                try await RetentionRunner(client: client, options: options, logger: logger).run(at: judgedAt, dryRun: dryRun)
            }
            print(report.text)
        }
    }
}

extension RetentionRunner.Report {
    /// For people: the partitions before the current month and the tenants with something expired.
    var text: String {
        func day(_ micros: Int64) -> String { String(Timestamps.format(micros: micros).prefix(10)) }
        var lines = ["Retention as of \(Timestamps.format(micros: self.atMicros))\(self.dryRun ? " (dry run: nothing changed)" : "")"]
        lines.append("Partitions before the current month:")
        if self.partitions.isEmpty { lines.append("  (none)") }
        for partition in self.partitions {
            let state: String
            if partition.dropped {
                state = "dropped"
            } else if partition.heldBy.isEmpty {
                state = self.dryRun ? "would be dropped" : "left for the next run (its lock did not come)"
            } else {
                let shown = partition.heldBy.prefix(8).map(String.init).joined(separator: ", ")
                state =
                    "kept: tenant\(partition.heldBy.count == 1 ? "" : "s") \(shown)\(partition.heldBy.count > 8 ? " and \(partition.heldBy.count - 8) more" : "") keep its months"
            }
            lines.append("  \(partition.name)  \(day(partition.startMicros)) to \(day(partition.endMicros))  \(state)")
        }
        lines.append("Tenants with expired points\(self.dryRun ? " (what would go)" : ""):")
        if self.tenants.isEmpty { lines.append("  (none)") }
        for tenant in self.tenants {
            lines.append(
                "  \(tenant.tenantID) \(tenant.name): keeps \(tenant.retentionMonths) months, from \(day(tenant.floorMicros)); "
                    + "\(tenant.points) points, \(tenant.rollups) hourly rollups, \(tenant.entities) entities' latest values"
            )
        }
        return lines.joined(separator: "\n")
    }
}
