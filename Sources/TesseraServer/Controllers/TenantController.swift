import Hummingbird
import TesseraCore
import TesseraStore

/// `POST /v1/tenants` (admin): creates a tenant and returns its API key, once.
struct TenantController {
    let catalog: Catalog
    let maxBodyBytes: Int

    struct CreateBody: Decodable {
        var name: String
        var autoCreateAttributes: Bool?
        var retentionMonths: Int?

        enum CodingKeys: String, CodingKey {
            case name
            case autoCreateAttributes = "auto_create_attributes"
            case retentionMonths = "retention_months"
        }
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.create)
    }

    @Sendable func create(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<TenantCreatedResponse> {
        let body = try await JSONBody.decode(CreateBody.self, from: request, limit: self.maxBodyBytes)
        var settings = Tenant.Settings()
        if let autoCreate = body.autoCreateAttributes { settings.autoCreateAttributes = autoCreate }
        if let retention = body.retentionMonths {
            guard (0...1200).contains(retention) else {
                throw TesseraError(.invalidBody, "'retention_months' must be from 0 (keep forever) to 1200.")
            }
            settings.retentionMonths = retention
        }
        let (tenant, key) = try await self.catalog.createTenant(name: body.name, settings: settings)
        context.logger.info("Tenant created", metadata: ["tenant.id": "\(tenant.id)", "api_key.prefix": "\(key.displayPrefix)"])
        return EditedResponse(status: .created, response: TenantCreatedResponse(
            id: tenant.id,
            name: tenant.name,
            apiKey: key.value,
            createdAt: tenant.createdAt,
            settings: .init(
                autoCreateAttributes: tenant.settings.autoCreateAttributes,
                retentionMonths: tenant.settings.retentionMonths,
                maxEntities: tenant.settings.maxEntities,
                maxAttributes: tenant.settings.maxAttributes,
                maxPointsPerSecond: tenant.settings.maxPointsPerSecond
            )
        ))
    }
}
