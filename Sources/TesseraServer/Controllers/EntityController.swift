import Hummingbird
import TesseraCore
import TesseraStore

/// `/v1/entities`: a tenant's entities by external key.
struct EntityController {
    let catalog: Catalog
    let maxBodyBytes: Int

    struct UpsertBody: Decodable {
        var key: String
        var type: String?
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.upsert)
        group.get("{key}", use: self.show)
    }

    @Sendable func upsert(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<EntityResponse> {
        let tenant = try context.requireTenant()
        let body = try await JSONBody.decode(UpsertBody.self, from: request, limit: self.maxBodyBytes)
        let (entity, created) = try await self.catalog.upsertEntity(key: body.key, type: body.type, tenant: tenant)
        return EditedResponse(status: created ? .created : .ok, response: EntityResponse(entity))
    }

    @Sendable func show(_ request: Request, context: TesseraRequestContext) async throws -> EntityResponse {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        try NameRules.validateEntityKey(key)
        guard let entity = try await self.catalog.entity(key: key, tenant: tenant) else {
            throw TesseraError(.notFound, "No entity with key '\(NameRules.printable(key))'.")
        }
        return EntityResponse(entity)
    }
}
