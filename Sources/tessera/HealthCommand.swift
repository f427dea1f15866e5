import ArgumentParser
import TesseraStore

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Run the database's health_check() and print each check; exits 1 if any fails."
    )
    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let logger = self.options.makeLogger()
        let url = try self.options.primaryURL(logger: logger)
        let report = try await withPostgresClient(url: url, logger: logger) { client in
            try await HealthReport.read(from: client, logger: logger)
        }
        for check in report.checks {
            print("\(check.status.uppercased().padding(toLength: 5, withPad: " ", startingAt: 0)) \(check.name): \(check.detail) (\(check.value))")
        }
        if report.worstStatus == "fail" { throw ExitCode(1) }
    }
}
