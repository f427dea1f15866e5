import ArgumentParser

@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A multi-tenant telemetry store on PostgreSQL.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, ClusterCommand.self, TenantCommand.self, KeyCommand.self, HealthCommand.self, QuarantineCommand.self,
            OpsCommand.self,
        ]
    )
}
