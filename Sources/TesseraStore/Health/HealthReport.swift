import Logging
import PostgresNIO

/// The rows of `health_check()`: one per check, each ok, warn or fail.
package struct HealthReport: Sendable, Equatable {
    package struct Check: Sendable, Equatable, Codable {
        package var name: String
        package var status: String
        package var value: Double
        package var detail: String
    }

    package var checks: [Check]

    package var worstStatus: String {
        if self.checks.contains(where: { $0.status == "fail" }) { return "fail" }
        if self.checks.contains(where: { $0.status == "warn" }) { return "warn" }
        return "ok"
    }

    package static func read(from client: PostgresClient, logger: Logger) async throws -> HealthReport {
        let rows = try await client.query("SELECT check_name, status, value, detail FROM health_check()", logger: logger)
        var checks = [Check]()
        for try await (name, status, value, detail) in rows.decode((String, String, Double, String).self) {
            checks.append(Check(name: name, status: status, value: value, detail: detail))
        }
        return HealthReport(checks: checks)
    }
}
