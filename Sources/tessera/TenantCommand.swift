import ArgumentParser
import TesseraCore
import TesseraStore

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Manage tenants.",
        subcommands: [Create.self, Show.self, Set.self]
    )

    /// The caps and retention a tenant takes at creation or later.
    struct Settings: ParsableArguments {
        @Option(help: "Months of data kept (0: forever).") var retentionMonths: Int?
        @Option(help: "Most entities (a deleted entity keeps its row, and counts).") var maxEntities: Int64?
        @Option(help: "Most attributes.") var maxAttributes: Int?
        @Option(help: "Points a second, per server process (429 with Retry-After past it).") var maxPointsPerSecond: Int?
        @Option(help: "Create attributes on first sight (true or false).") var autoCreateAttributes: Bool?

        var patch: Catalog.TenantPatch {
            .init(
                autoCreateAttributes: self.autoCreateAttributes,
                retentionMonths: self.retentionMonths,
                maxEntities: self.maxEntities,
                maxAttributes: self.maxAttributes,
                maxPointsPerSecond: self.maxPointsPerSecond
            )
        }
    }

    static func describe(_ tenant: Tenant, _ usage: Catalog.Usage) -> String {
        let settings = tenant.settings
        return [
            "tenant_id: \(tenant.id)",
            "name: \(tenant.name)",
            "retention_months: \(settings.retentionMonths)",
            "auto_create_attributes: \(settings.autoCreateAttributes)",
            "max_entities: \(settings.maxEntities) (holds \(usage.entities))",
            "max_attributes: \(settings.maxAttributes) (holds \(usage.attributes))",
            "max_points_per_second: \(settings.maxPointsPerSecond)",
        ].joined(separator: "\n")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and print its API key (shown once).")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The tenant's name.") var name: String
        @OptionGroup var settings: Settings

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let name = self.name
            let patch: Catalog.TenantPatch
            do { patch = try self.settings.patch.validated() } catch { throw ValidationError(error.detail) }
            var settings = Tenant.Settings()
            if let value = patch.autoCreateAttributes { settings.autoCreateAttributes = value }
            if let value = patch.retentionMonths { settings.retentionMonths = value }
            if let value = patch.maxEntities { settings.maxEntities = value }
            if let value = patch.maxAttributes { settings.maxAttributes = value }
            if let value = patch.maxPointsPerSecond { settings.maxPointsPerSecond = value }
            let chosen = settings
            let (tenant, key) = try await withPostgresClient(url: url, logger: logger) { client in
                try await Catalog(client: client, logger: logger).createTenant(name: name, settings: chosen)
            }
            print("tenant_id: \(tenant.id)\nname: \(tenant.name)\napi_key: \(key.value)")
            print("Keep the key: it is stored hashed and cannot be shown again.")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant's settings and what it holds of its caps.")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The tenant's id.") var id: Int64

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let id = self.id
            let found = try await withPostgresClient(url: url, logger: logger) { client in
                try await Catalog(client: client, logger: logger).tenant(id: id)
            }
            guard let (tenant, usage) = found else { throw ValidationError("No tenant with id \(id).") }
            print(TenantCommand.describe(tenant, usage))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a tenant's retention or caps (servers apply it within seconds, as PATCH /v1/tenants/{id} does)."
        )
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The tenant's id.") var id: Int64
        @OptionGroup var settings: Settings

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let id = self.id
            let patch: Catalog.TenantPatch
            do { patch = try self.settings.patch.validated() } catch { throw ValidationError(error.detail) }
            let updated = try await withPostgresClient(url: url, logger: logger) { client in
                try await Catalog(client: client, logger: logger).updateTenant(id: id, patch)
            }
            guard let (tenant, usage) = updated else { throw ValidationError("No tenant with id \(id).") }
            print(TenantCommand.describe(tenant, usage))
        }
    }
}
