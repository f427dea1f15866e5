import Foundation
import Hummingbird
import NIOCore
import TesseraCache
import TesseraCore
import TesseraRouting
import TesseraStore

/// Reads of one entity, routed by consistency (default `eventual`):
/// `GET /v1/entities/{key}` (metadata and latest values) and
/// `GET /v1/entities/{key}/series/{attribute}` (raw points in time order).
struct EntityReadController {
    let reads: ReadServices

    /// Non-hot attributes one lookup may ask for.
    static let maxRequestedAttributes = 100

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.get("{key}", use: self.show)
        // A page of up to 10,000 points takes milliseconds to render: off the connection's event loop.
        group.group().add(middleware: GlobalExecutorMiddleware()).get("{key}/series/{attribute}", use: self.series)
    }

    @Sendable func show(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        try NameRules.validateEntityKey(key)
        let options = try ReadOptions.parse(request, default: .eventual)
        let requested = try Self.requestedAttributes(request)
        var extra = [Attribute]()
        if !requested.isEmpty {
            let known = try await self.reads.attributes.known(tenant: tenant.id, needing: Set(requested))
            for name in requested {
                guard let attribute = known[name] else {
                    throw TesseraError(.unknownAttribute, "The tenant has no attribute '\(NameRules.printable(name))'.")
                }
                if !attribute.definition.hot { extra.append(attribute) }
            }
        }
        let logger = self.reads.logger
        let prepared = self.reads.preparedStatements
        let nonHot = extra
        // `eventual` and `analytics` lookups of the hot state may be answered by the cache.
        return try await self.reads.cached.entity(
            tenant: tenant.id,
            key: key,
            options: options,
            cacheable: extra.isEmpty,
            notFound: "No entity with key '\(NameRules.printable(key))'."
        ) {
            let served = try await self.reads.read(options) { connection in
                guard let state = try await EntityReads.state(key: key, tenantID: tenant.id, on: connection, prepared: prepared, logger: logger) else {
                    return nil as EntityLookup?
                }
                let points = try await EntityReads.latestPoints(
                    entityID: state.entity.id,
                    attributes: nonHot,
                    tenantID: tenant.id,
                    on: connection,
                    logger: logger
                )
                return EntityLookup(state: state, points: points)
            }
            guard var lookup = served.value else { return CachedReads.Computed(members: nil, served: served) }
            // The latest point of a non-hot attribute is searched month by month: an archived
            // month newer than what was found (or any, when nothing was) may hold a later one.
            if !nonHot.isEmpty {
                let found = Set(lookup.points.map(\.attribute))
                let oldest = nonHot.allSatisfy { found.contains($0.definition.name) } ? lookup.points.map(\.timeMicros).min() : nil
                try await self.reads.refuseArchived(from: oldest, to: nil)
            }
            // pii values (never hot, so never cached) opened with the entity's data key.
            let personal = Dictionary(nonHot.filter(\.definition.pii).map { ($0.definition.name, $0.id) }, uniquingKeysWith: { a, _ in a })
            if lookup.points.contains(where: { personal[$0.attribute] != nil }) {
                let entityID = lookup.state.entity.id
                let key = try await self.reads.personalKeys(tenant: tenant.id, entities: [entityID])[entityID]
                for index in lookup.points.indices {
                    guard let attributeID = personal[lookup.points[index].attribute] else { continue }
                    lookup.points[index].value =
                        PIISealer.open(lookup.points[index].value, key: key, tenant: tenant.id, entity: entityID, attribute: attributeID) ?? .null
                }
            }
            return CachedReads.Computed(
                members: Self.document(lookup),
                served: served,
                entity: (lookup.state.entity.id, lookup.state.version)
            )
        }
    }

    /// An entity's state and the latest points of the non-hot attributes asked for.
    struct EntityLookup: Sendable {
        var state: EntityReads.State
        var points: [EntityReads.LatestPoint]
    }

    /// The lookup's answer, without `meta`.
    static func document(_ lookup: EntityLookup) -> [(String, JSONValue)] {
        let state = lookup.state
        var attributes = [(String, JSONValue)]()
        if case .object(let values) = state.values {
            for (name, value) in values.sorted(by: { $0.0 < $1.0 }) {
                var member: [(String, JSONValue)] = [("value", value)]
                if case .number(let literal, _) = state.times[name] ?? .null, let micros = Int64(literal) {
                    member.append(("ts", .time(micros)))
                }
                attributes.append((name, .object(member)))
            }
        }
        for point in lookup.points.sorted(by: { $0.attribute < $1.attribute }) {
            attributes.append((point.attribute, .object([("value", point.value), ("ts", .time(point.timeMicros))])))
        }
        let entity = state.entity
        return [
            ("id", .integer(entity.id)),
            ("key", .string(entity.key)),
            ("type", .optionalString(entity.type)),
            ("version", .integer(entity.version)),
            ("created_at", .time(Self.micros(entity.createdAt))),
            ("updated_at", .time(Self.micros(entity.updatedAt))),
            ("attributes", .object(attributes)),
        ]
    }

    @Sendable func series(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try context.parameters.decoded("key", field: "entity key")
        try NameRules.validateEntityKey(key)
        let name = try context.parameters.decoded("attribute", field: "attribute name")
        try NameRules.validateAttributeName(name)
        let options = try ReadOptions.parse(request, default: .eventual)
        let parameters = request.uri.queryParameters
        let query = try SeriesQuery.parse(
            from: parameters.get("from"),
            to: parameters.get("to"),
            limit: parameters.get("limit"),
            cursor: parameters.get("cursor"),
            order: parameters.get("order")
        )
        let known = try await self.reads.attributes.known(tenant: tenant.id, needing: [name])
        guard let attribute = known[name] else {
            throw TesseraError(.unknownAttribute, "The tenant has no attribute '\(NameRules.printable(name))'.")
        }
        let logger = self.reads.logger
        let prepared = self.reads.preparedStatements
        let served = try await self.reads.read(options) { connection in
            guard let state = try await EntityReads.state(key: key, tenantID: tenant.id, on: connection, prepared: prepared, logger: logger) else {
                return nil as (entityID: Int64, page: SeriesReads.Page)?
            }
            let page = try await SeriesReads.points(
                query,
                entityID: state.entity.id,
                attributeID: attribute.id,
                // A pii attribute's points hold sealed text, whatever its type: all the columns.
                valueType: attribute.definition.pii ? nil : attribute.definition.type,
                tenantID: tenant.id,
                on: connection,
                logger: logger
            )
            return (state.entity.id, page)
        }
        guard let (entityID, page) = served.value else {
            throw ReadResponse.notFound("No entity with key '\(NameRules.printable(key))'.", source: served.source)
        }
        let covered = Self.covered(query, page)
        try await self.reads.refuseArchived(from: covered.from, to: covered.to)
        var values = page.points.map(\.value)
        if attribute.definition.pii, !values.isEmpty {
            // Opened with the entity's data key; null once the entity was erased.
            let key = try await self.reads.personalKeys(tenant: tenant.id, entities: [entityID])[entityID]
            values = values.map { PIISealer.open($0, key: key, tenant: tenant.id, entity: entityID, attribute: attribute.id) ?? .null }
        }
        let document = SeriesPageDocument(
            entity: key,
            attribute: name,
            type: attribute.definition.type,
            times: page.points.map(\.timeMicros),
            values: values,
            nextCursor: page.nextAfterMicros.map { Cursor.encode(timeMicros: $0) }
        )
        return ReadResponse.make(document: document.bytes, served: served)
    }

    /// The part of the series' range a page covered: to its last point when there are more,
    /// else to the end of the range (a page that stops short of an archived month has not reached it).
    static func covered(_ query: SeriesQuery, _ page: SeriesReads.Page) -> (from: Int64?, to: Int64?) {
        var from = query.fromMicros
        var to = query.toMicros
        let last = page.nextAfterMicros != nil ? page.points.last?.timeMicros : nil
        if query.descending {
            if let after = query.afterMicros { to = min(to ?? after, after) }
            if let last { from = last }
        } else {
            if let after = query.afterMicros { from = max(from ?? (after + 1), after + 1) }
            if let last { to = last + 1 }
        }
        return (from, to)
    }

    static func requestedAttributes(_ request: Request) throws(TesseraError) -> [String] {
        guard let list = request.uri.queryParameters.get("attributes"), !list.isEmpty else { return [] }
        let names = list.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
        guard names.count <= Self.maxRequestedAttributes else {
            throw TesseraError(.invalidParameter, "attributes names \(names.count) attributes; at most \(Self.maxRequestedAttributes) per lookup.")
        }
        for name in names { try NameRules.validateAttributeName(name) }
        return names
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }
}
