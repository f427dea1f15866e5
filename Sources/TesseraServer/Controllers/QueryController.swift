import Foundation
import Hummingbird
import NIOCore
import TesseraCache
import TesseraCore
import TesseraRouting
import TesseraStore

/// `POST /v1/query/entities` (multi-attribute filter over hot attributes, default
/// `eventual`) and `POST /v1/query/aggregate` (time buckets of one attribute,
/// default `analytics`).
struct QueryController {
    let reads: ReadServices
    let maxBodyBytes: Int

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post("entities", use: self.entities)
        group.post("aggregate", use: self.aggregate)
    }

    @Sendable func entities(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let options = try ReadOptions.parse(request, default: .eventual)
        let query = try EntityQuery.parse(try await JSONBody.value(from: request, limit: self.maxBodyBytes))
        let names = query.filter.attributeNames
        let known = try await self.reads.attributes.known(tenant: tenant.id, needing: names)
        for name in names.sorted() {
            guard let attribute = known[name] else {
                throw TesseraError(.unknownAttribute, "The filter names '\(NameRules.printable(name))', which the tenant has no attribute of.")
            }
            guard !attribute.definition.pii else {
                throw TesseraError(
                    .piiAttribute,
                    "The filter names '\(NameRules.printable(name))', a pii attribute: its values are encrypted, and personal data is not searched."
                )
            }
            guard attribute.definition.hot else {
                throw TesseraError(
                    .invalidBody,
                    "The filter names '\(NameRules.printable(name))', which is not a hot attribute: only hot attributes are kept in the projection that filters read. Mark it hot with PUT /v1/attributes/\(name)."
                )
            }
        }
        let logger = self.reads.logger
        return try await self.reads.cached.query(tenant: tenant.id, kind: "filter", normalized: "\(query)", options: options) {
            let served = try await self.reads.read(options) { connection in
                try await EntitySearch.search(query, tenantID: tenant.id, attributes: known, on: connection, logger: logger)
            }
            let entities = served.value.matches.map { match in
                JSONValue.object([
                    ("id", .integer(match.entityID)),
                    ("key", .string(match.key)),
                    ("type", .optionalString(match.type)),
                    ("attributes", match.values),
                ])
            }
            let members: [(String, JSONValue)] = [
                ("entities", .array(entities)),
                ("next_cursor", served.value.nextAfter.map { .string(Cursor.encode(entityID: $0)) } ?? .null),
            ]
            return CachedReads.Computed(members: members, served: served)
        }
    }

    /// A query's answer without `meta`, and where it was read.
    @Sendable func aggregate(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let options = try ReadOptions.parse(request, default: .analytics)
        let query = try AggregateQuery.parse(try await JSONBody.value(from: request, limit: self.maxBodyBytes), limits: self.reads.limits.aggregate)
        let known = try await self.reads.attributes.known(tenant: tenant.id, needing: [query.attribute])
        guard let attribute = known[query.attribute] else {
            throw TesseraError(.unknownAttribute, "The tenant has no attribute '\(NameRules.printable(query.attribute))'.")
        }
        guard !attribute.definition.pii else {
            throw TesseraError(
                .piiAttribute,
                "'\(NameRules.printable(query.attribute))' is a pii attribute: its values are encrypted, and personal data is not aggregated."
            )
        }
        for function in query.functions where !AggregateReads.supports(function, type: attribute.definition.type) {
            throw TesseraError(
                .invalidBody,
                "\(function.rawValue) does not apply to '\(NameRules.printable(query.attribute))', a \(attribute.definition.type.rawValue) attribute."
            )
        }
        // Whole hours of an archived month still come from its rollups; its points do not.
        for range in AggregateReads.rawRanges(of: query, type: attribute.definition.type) {
            try await self.reads.refuseArchived(from: range.from, to: range.to)
        }
        let maxRows = self.reads.limits.maxAggregateRows
        let logger = self.reads.logger
        return try await self.reads.cached.query(tenant: tenant.id, kind: "aggregate", normalized: "\(query)", options: options) {
            let served = try await self.reads.read(options) { connection in
                try await AggregateReads.aggregate(query, attribute: attribute, tenantID: tenant.id, maxRows: maxRows, on: connection, logger: logger)
            }
            guard served.value.count <= maxRows else {
                throw TesseraError(.invalidBody, "The aggregate has more than \(maxRows) rows; use a bigger bucket, a shorter range or fewer entities.")
            }
            let buckets = served.value.map { row -> JSONValue in
                var members: [(String, JSONValue)] = [("start", .time(row.bucketMicros))]
                if let key = row.entityKey { members.append(("entity", .string(key))) }
                for (function, value) in zip(query.functions, row.values) {
                    members.append((function.rawValue, value))
                }
                return .object(members)
            }
            let members: [(String, JSONValue)] = [
                ("attribute", .string(query.attribute)),
                ("from", .time(query.fromMicros)),
                ("to", .time(query.toMicros)),
                ("bucket", .string(query.bucket.text)),
                ("buckets", .array(buckets)),
            ]
            return CachedReads.Computed(members: members, served: served)
        }
    }
}
