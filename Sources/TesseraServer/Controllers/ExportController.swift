import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// `GET /v1/entities/{key}/export` and `GET /v1/subjects/{subject}/export`: every stored
/// point of an entity, or of every entity of a data subject, as NDJSON (one
/// `{"entity","attribute","ts","value"}` a line), streamed a page at a time from the
/// primary. Pages are read one after another, not in one snapshot: a point written
/// during the export may or may not be in it.
struct ExportController {
    let catalog: Catalog
    let reads: ReadServices
    static let pageSize = 5_000

    func addRoutes(entities: RouterGroup<TesseraRequestContext>, subjects: RouterGroup<TesseraRequestContext>) {
        entities.get("{key}/export", use: self.entity)
        subjects.get("{subject}/export", use: self.subject)
    }

    @Sendable func entity(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        guard let entity = try await self.catalog.entity(key: key, tenant: tenant) else {
            throw TesseraError(.notFound, "No entity with key '\(NameRules.printable(key))'.")
        }
        return try await self.export([entity], tenant: tenant)
    }

    @Sendable func subject(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let subject = try context.parameters.decoded("subject", field: "subject")
        let entities = try await self.catalog.subjectEntities(subject, tenant: tenant)
        guard !entities.isEmpty else {
            throw TesseraError(.notFound, "No entity is tagged with subject '\(NameRules.printable(subject))'.")
        }
        return try await self.export(entities, tenant: tenant)
    }

    private func export(_ entities: [Entity], tenant: Tenant) async throws -> Response {
        let attributes = try await self.catalog.attributes(tenant: tenant)
        let names = Dictionary(attributes.map { ($0.id, $0.definition.name) }, uniquingKeysWith: { a, _ in a })
        let personal = Set(attributes.filter(\.definition.pii).map(\.id))
        // pii values are opened with their entity's data key (asked for once).
        let dataKeys = personal.isEmpty ? [:] : try await self.reads.personalKeys(tenant: tenant.id, entities: entities.map(\.id))
        let keys = Dictionary(entities.map { ($0.id, $0.key) }, uniquingKeysWith: { a, _ in a })
        let ids = entities.map(\.id).sorted()
        let reads = self.reads
        // A subject's points may sit in an archived month: an export without them would be incomplete.
        try await reads.refuseArchived(from: nil, to: nil)
        let months = try await reads.read(ReadOptions(consistency: .strong, minimum: nil)) { connection in
            try await EntityExport.months(on: connection, logger: reads.logger)
        }.value
        // The pages are read after the handler returned: the request's id goes along.
        let tag = RequestTag.current
        let body = ResponseBody { writer in
            try await RequestTag.$current.withValue(tag) {
                for month in months {
                    var after: (entityID: Int64, attributeID: Int32, timeMicros: Int64)?
                    while true {
                        let from = after
                        let points = try await reads.read(ReadOptions(consistency: .strong, minimum: nil)) { connection in
                            try await EntityExport.page(
                                month: month,
                                after: from,
                                entityIDs: ids,
                                tenantID: tenant.id,
                                limit: Self.pageSize,
                                on: connection,
                                logger: reads.logger
                            )
                        }.value
                        var bytes = [UInt8]()
                        bytes.reserveCapacity(points.count * 96)
                        for point in points {
                            JSONValue.object([
                                ("entity", .string(keys[point.entityID] ?? "")),
                                ("attribute", .string(names[point.attributeID] ?? "")),
                                ("ts", .time(point.timeMicros)),
                                (
                                    "value",
                                    personal.contains(point.attributeID)
                                        ? PIISealer.open(
                                            point.value,
                                            key: dataKeys[point.entityID],
                                            tenant: tenant.id,
                                            entity: point.entityID,
                                            attribute: point.attributeID
                                        ) ?? .null
                                        : point.value
                                ),
                            ]).write(to: &bytes)
                            bytes.append(UInt8(ascii: "\n"))
                        }
                        if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                        guard points.count == Self.pageSize, let last = points.last else { break }
                        after = (last.entityID, last.attributeID, last.timeMicros)
                    }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}
