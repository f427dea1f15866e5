import Hummingbird
import TesseraCore
import TesseraStore

/// `/v1/tenants` (admin token): creates a tenant and returns its API key, once; shows a
/// tenant's settings and usage; changes its settings (retention and caps).
struct TenantController {
    let catalog: Catalog
    let maxBodyBytes: Int

    /// The settings a tenant takes at creation or later; each optional.
    struct SettingsBody: Decodable {
        var autoCreateAttributes: Bool?
        var retentionMonths: Int?
        var maxEntities: Int64?
        var maxAttributes: Int?
        var maxPointsPerSecond: Int?

        enum CodingKeys: String, CodingKey {
            case autoCreateAttributes = "auto_create_attributes"
            case retentionMonths = "retention_months"
            case maxEntities = "max_entities"
            case maxAttributes = "max_attributes"
            case maxPointsPerSecond = "max_points_per_second"
        }

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

    struct CreateBody: Decodable {
        var name: String
        var settings: SettingsBody

        enum CodingKeys: String, CodingKey { case name }

        init(from decoder: any Decoder) throws {
            self.name = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .name)
            self.settings = try SettingsBody(from: decoder)
        }
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.create)
        group.get(":id", use: self.show)
        group.patch(":id", use: self.update)
    }

    @Sendable func create(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<TenantCreatedResponse> {
        let body = try await JSONBody.decode(CreateBody.self, from: request, limit: self.maxBodyBytes)
        let patch = try body.settings.patch.validated()
        var settings = Tenant.Settings()
        if let value = patch.autoCreateAttributes { settings.autoCreateAttributes = value }
        if let value = patch.retentionMonths { settings.retentionMonths = value }
        if let value = patch.maxEntities { settings.maxEntities = value }
        if let value = patch.maxAttributes { settings.maxAttributes = value }
        if let value = patch.maxPointsPerSecond { settings.maxPointsPerSecond = value }
        let (tenant, key) = try await self.catalog.createTenant(name: body.name, settings: settings)
        context.logger.info("Tenant created", metadata: ["tenant.id": "\(tenant.id)", "api_key.prefix": "\(key.displayPrefix)"])
        return EditedResponse(
            status: .created,
            response: TenantCreatedResponse(
                id: tenant.id,
                name: tenant.name,
                apiKey: key.value,
                createdAt: tenant.createdAt,
                settings: .init(tenant.settings)
            )
        )
    }

    @Sendable func show(_ request: Request, context: TesseraRequestContext) async throws -> TenantResponse {
        let id = try Self.id(context)
        guard let (tenant, usage) = try await self.catalog.tenant(id: id) else { throw Self.notFound(id) }
        return TenantResponse(tenant, usage)
    }

    @Sendable func update(_ request: Request, context: TesseraRequestContext) async throws -> TenantResponse {
        let id = try Self.id(context)
        let body = try await JSONBody.decode(SettingsBody.self, from: request, limit: self.maxBodyBytes)
        guard let (tenant, usage) = try await self.catalog.updateTenant(id: id, body.patch) else { throw Self.notFound(id) }
        context.logger.info("Tenant settings changed", metadata: ["tenant.id": "\(tenant.id)"])
        return TenantResponse(tenant, usage)
    }

    static func id(_ context: TesseraRequestContext) throws(TesseraError) -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw TesseraError(.invalidParameter, "The tenant id must be a positive integer.")
        }
        return id
    }

    static func notFound(_ id: Int64) -> TesseraError {
        TesseraError(.notFound, "No tenant with id \(id).")
    }
}
