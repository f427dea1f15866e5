import Hummingbird
import TesseraCore
import TesseraStore

/// `POST /v1/entities`: creates a tenant's entity by external key (reads are in `EntityReadController`).
struct EntityController {
    let catalog: Catalog
    let maxBodyBytes: Int

    struct UpsertBody: Decodable {
        var key: String
        var type: String?
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.upsert)
    }

    @Sendable func upsert(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<EntityResponse> {
        let tenant = try context.requireTenant()
        let body = try await JSONBody.decode(UpsertBody.self, from: request, limit: self.maxBodyBytes)
        let (entity, created) = try await self.catalog.upsertEntity(key: body.key, type: body.type, tenant: tenant)
        return EditedResponse(status: created ? .created : .ok, response: EntityResponse(entity))
    }
}
