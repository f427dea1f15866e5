import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// `POST /v1/entities`: creates a tenant's entity by external key (reads are in `EntityReadController`).
struct EntityController {
    let catalog: Catalog
    let attributes: AttributeCatalog
    let resolver: IngestResolver
    /// Told of deletions, so the cache forgets the entity.
    let feed: ProjectionFeed
    /// Where the entity's data key is destroyed (crypto-shredding), when there is a vault.
    let vault: DataKeyVault?
    let maxBodyBytes: Int

    struct UpsertBody: Decodable {
        var key: String
        var type: String?
        /// The data subject (README: Security, "Erasure"); "" clears it.
        var subject: String?
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.upsert)
        group.delete("{key}", use: self.delete)
    }

    @Sendable func upsert(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<EntityResponse> {
        let tenant = try context.requireTenant()
        let body = try await JSONBody.decode(UpsertBody.self, from: request, limit: self.maxBodyBytes)
        let (entity, created) = try await self.catalog.upsertEntity(key: body.key, type: body.type, subject: body.subject, tenant: tenant)
        return EditedResponse(status: created ? .created : .ok, response: EntityResponse(entity))
    }

    /// `DELETE /v1/entities/{key}`: the entity, its latest values and its points; 204, or 404.
    @Sendable func delete(_ request: Request, context: TesseraRequestContext) async throws -> HTTPResponse.Status {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        // The data key first: once it is gone, no copy of the entity's pii values can be read.
        try await ErasureController.requireShredding(self.vault, attributes: self.attributes, tenant: tenant.id)
        try await self.resolver.archivedMonths?.refuseErasure(from: nil, to: nil)
        if let vault = self.vault, let entity = try await self.catalog.entity(key: key, tenant: tenant) {
            try await ErasureController.destroyKeys(vault, tenant: tenant.id, entities: [entity.id])
        }
        guard let deleted = try await self.catalog.deleteEntity(key: key, tenant: tenant) else {
            throw TesseraError(.notFound, "No entity with key '\(NameRules.printable(key))'.")
        }
        self.resolver.invalidateEntity(tenant: tenant.id, key: key)
        await self.feed.publish(
            ProjectionChange(
                tenants: [tenant.id],
                entities: [.init(tenantID: tenant.id, entityID: deleted.id, version: deleted.atMicros)],
                atMicros: deleted.atMicros
            )
        )
        if let vault = self.vault {
            // A key made by a write racing the delete (its points are dropped by the flush).
            await ErasureController.destroyKeysAfterErasure(vault, tenant: tenant.id, entities: [deleted.id])
        }
        return .noContent
    }
}
