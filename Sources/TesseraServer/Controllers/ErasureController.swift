import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// Erasure (README: Security, "Erasure"): `DELETE /v1/entities/{key}/series/{attribute}`
/// erases a range of one series; `GET /v1/subjects/{subject}` lists a data subject's
/// entities and `DELETE /v1/subjects/{subject}` erases them all. Every erasure tells the
/// cache, so no read serves what it removed.
struct ErasureController {
    let catalog: Catalog
    let attributes: AttributeCatalog
    let resolver: IngestResolver
    let feed: ProjectionFeed
    /// Where the erased entities' data keys are destroyed (crypto-shredding).
    let vault: DataKeyVault?

    func addRoutes(entities: RouterGroup<TesseraRequestContext>, subjects: RouterGroup<TesseraRequestContext>) {
        entities.delete("{key}/series/{attribute}", use: self.eraseSeries)
        subjects.get("{subject}", use: self.subject)
        subjects.delete("{subject}", use: self.eraseSubject)
    }

    /// `?from=&to=` (RFC 3339; either may be left out): the points with from <= ts < to.
    @Sendable func eraseSeries(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        try NameRules.validateEntityKey(key)
        let name = try context.parameters.decoded("attribute", field: "attribute name")
        try NameRules.validateAttributeName(name)
        let parameters = request.uri.queryParameters
        let range = try SeriesQuery.parse(from: parameters.get("from"), to: parameters.get("to"), limit: nil, cursor: nil, order: nil)
        let known = try await self.attributes.known(tenant: tenant.id, needing: [name])
        guard let attribute = known[name] else {
            throw TesseraError(.unknownAttribute, "The tenant has no attribute '\(NameRules.printable(name))'.")
        }
        try await self.resolver.archivedMonths?.refuseErasure(from: range.fromMicros, to: range.toMicros)
        guard
            let erased = try await self.catalog.eraseSeries(
                key: key,
                attributeID: attribute.id,
                fromMicros: range.fromMicros,
                toMicros: range.toMicros,
                tenant: tenant
            )
        else {
            throw TesseraError(.notFound, "No entity with key '\(NameRules.printable(key))'.")
        }
        let version = max(erased.atMicros, erased.projectionVersion ?? 0)
        await self.feed.publish(
            ProjectionChange(
                tenants: [tenant.id],
                entities: [.init(tenantID: tenant.id, entityID: erased.entityID, version: version)],
                atMicros: version
            )
        )
        return Self.json([
            ("entity", .string(key)),
            ("attribute", .string(name)),
            ("erased_points", .number(literal: String(erased.points), isInteger: true)),
        ])
    }

    @Sendable func subject(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let subject = try context.parameters.decoded("subject", field: "subject")
        let entities = try await self.catalog.subjectEntities(subject, tenant: tenant)
        return Self.json([
            ("subject", .string(subject)),
            ("entities", .array(entities.map { .string($0.key) })),
        ])
    }

    @Sendable func eraseSubject(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let subject = try context.parameters.decoded("subject", field: "subject")
        // The data keys first (and again for any entity tagged meanwhile): once they are
        // gone, no copy of the subject's pii values can be read.
        try await Self.requireShredding(self.vault, attributes: self.attributes, tenant: tenant.id)
        try await self.resolver.archivedMonths?.refuseErasure(from: nil, to: nil)
        if let vault = self.vault {
            let tagged = try await self.catalog.subjectEntities(subject, tenant: tenant)
            try await Self.destroyKeys(vault, tenant: tenant.id, entities: tagged.map(\.id))
        }
        let erased = try await self.catalog.eraseSubject(subject, tenant: tenant)
        guard !erased.entities.isEmpty else {
            throw TesseraError(.notFound, "No entity is tagged with subject '\(NameRules.printable(subject))'.")
        }
        // Committed: every reader is told before anything else can fail.
        for entity in erased.entities { self.resolver.invalidateEntity(tenant: tenant.id, key: entity.key) }
        await self.feed.publish(
            ProjectionChange(
                tenants: [tenant.id],
                entities: erased.entities.map { .init(tenantID: tenant.id, entityID: $0.id, version: erased.atMicros) },
                atMicros: erased.atMicros
            )
        )
        if let vault = self.vault {
            // A key made by a write racing the erasure (its points are dropped by the flush).
            await Self.destroyKeysAfterErasure(vault, tenant: tenant.id, entities: erased.entities.map(\.id))
        }
        return Self.json([
            ("subject", .string(subject)),
            ("erased_entities", .array(erased.entities.map { .string($0.key) })),
            ("erased_points", .number(literal: String(erased.points), isInteger: true)),
        ])
    }

    /// Erasing on a server without a key vault would leave the data keys of the tenant's
    /// `pii` values (written through a server that has one): 503 while the tenant has a
    /// `pii` attribute, so the erasure is done where the keys can be destroyed.
    static func requireShredding(_ vault: DataKeyVault?, attributes: AttributeCatalog, tenant: Int64) async throws(TesseraError) {
        guard vault == nil, try await attributes.hasPersonalAttributes(tenant: tenant) else { return }
        throw TesseraError(
            .piiUnavailable,
            "The tenant has pii attributes, and this server has no key vault to destroy their data keys; "
                + "nothing was erased. Erase through a server with a master key and a key vault."
        )
    }

    /// Destroys data keys, or answers 503 (nothing is erased then: the client retries).
    static func destroyKeys(_ vault: DataKeyVault, tenant: Int64, entities: [Int64]) async throws(TesseraError) {
        do {
            try await vault.destroy(tenant: tenant, entities: entities)
        } catch {
            vault.logger.error("The key vault did not destroy data keys", metadata: ["error": "\(String(reflecting: error))"])
            throw TesseraError(.piiUnavailable, "The key vault did not answer, so nothing was erased; retry shortly.")
        }
    }

    /// After an erasure has committed: destroys the keys again, for any made meanwhile by a
    /// racing write. A failure is logged, not answered: the rows are gone already, and the
    /// key only covers points the flush drops.
    static func destroyKeysAfterErasure(_ vault: DataKeyVault, tenant: Int64, entities: [Int64]) async {
        do {
            try await vault.destroy(tenant: tenant, entities: entities)
        } catch {
            vault.logger.error(
                "The key vault did not destroy the data keys of erased entities; destroy them by hand",
                metadata: ["tenant.id": "\(tenant)", "entities": "\(entities)", "error": "\(String(reflecting: error))"]
            )
        }
    }

    static func json(_ members: [(String, JSONValue)]) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).jsonBytes))
        )
    }
}
