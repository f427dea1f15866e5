import ArgumentParser
import TesseraStore

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Manage tenants.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and print its API key (shown once).")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The tenant's name.") var name: String

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let name = self.name
            let (tenant, key) = try await withPostgresClient(url: url, logger: logger) { client in
                try await Catalog(client: client, logger: logger).createTenant(name: name)
            }
            print("tenant_id: \(tenant.id)\nname: \(tenant.name)\napi_key: \(key.value)")
            print("Keep the key: it is stored hashed and cannot be shown again.")
        }
    }
}
