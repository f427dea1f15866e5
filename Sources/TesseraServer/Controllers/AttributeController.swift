import Hummingbird
import TesseraCore
import TesseraStore

/// `/v1/attributes`: a tenant's attribute catalog.
struct AttributeController {
    let catalog: Catalog
    /// Told when an attribute changes, so ingest and reads see it at once on this server.
    let attributes: AttributeCatalog
    let maxBodyBytes: Int

    struct PutBody: Decodable {
        var type: String
        var hot: Bool?
        var critical: Bool?
        var unit: String?
        var description: String?
        var pii: Bool?
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.get(use: self.list)
        group.get("{name}", use: self.show)
        group.put("{name}", use: self.put)
    }

    @Sendable func put(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<AttributeResponse> {
        let tenant = try context.requireTenant()
        let name = try context.parameters.decoded("name", field: "attribute name")
        try NameRules.validateAttributeName(name)
        let body = try await JSONBody.decode(PutBody.self, from: request, limit: self.maxBodyBytes)
        let definition = AttributeDefinition(
            name: name,
            type: try ValueType(parsing: body.type),
            hot: body.hot ?? false,
            critical: body.critical ?? false,
            unit: body.unit,
            description: body.description,
            pii: body.pii ?? false
        )
        let (attribute, created) = try await self.catalog.putAttribute(definition, tenant: tenant)
        self.attributes.invalidate(tenant: tenant.id)
        return EditedResponse(status: created ? .created : .ok, response: AttributeResponse(attribute))
    }

    @Sendable func list(_ request: Request, context: TesseraRequestContext) async throws -> AttributeListResponse {
        let tenant = try context.requireTenant()
        return AttributeListResponse(attributes: try await self.catalog.attributes(tenant: tenant).map(AttributeResponse.init))
    }

    @Sendable func show(_ request: Request, context: TesseraRequestContext) async throws -> AttributeResponse {
        let tenant = try context.requireTenant()
        let name = try context.parameters.decoded("name", field: "attribute name")
        guard let attribute = try await self.catalog.attribute(named: name, tenant: tenant) else {
            throw TesseraError(.notFound, "No attribute named '\(NameRules.printable(name))'.")
        }
        return AttributeResponse(attribute)
    }
}
