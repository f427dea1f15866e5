/// The body of `POST /v1/query/entities`:
///
///     {"filter": {...}, "limit": 100, "cursor": "ZToxMjM"}
///
/// `filter` is required (see `EntityFilter`); `limit` defaults to 100; `cursor` is
/// the one the previous page returned. `null` counts as absent for the optional fields.
package struct EntityQuery: Sendable, Equatable {
    package var filter: EntityFilter
    package var limit: Int
    /// The decoded cursor: the last entity id of the previous page.
    package var after: Int64?

    package static let defaultLimit = 100
    package static let maxLimit = 1_000

    package init(filter: EntityFilter, limit: Int = EntityQuery.defaultLimit, after: Int64? = nil) {
        self.filter = filter
        self.limit = limit
        self.after = after
    }

    package static func parse(_ body: JSONValue) throws(TesseraError) -> EntityQuery {
        let object = try BodyObject(body, path: "", name: "The request body")
        try object.rejectUnknown(allowed: ["filter", "limit", "cursor"], expecting: "the body takes filter, limit and cursor")

        guard let filterJSON = object.optional("filter") else {
            throw TesseraError(
                .invalidBody,
                "filter is required, such as {\"filter\": {\"attribute\": \"temp\", \"op\": \">\", \"value\": 20}}."
            )
        }
        var query = EntityQuery(filter: try EntityFilter.parse(filterJSON))

        if let limitJSON = object.optional("limit") {
            guard case .number(let literal, true) = limitJSON, let limit = Int(literal), (1...self.maxLimit).contains(limit) else {
                throw TesseraError(
                    .invalidBody,
                    "limit must be a whole number from 1 to \(self.maxLimit), not \(BodyObject.describe(limitJSON))."
                )
            }
            query.limit = limit
        }

        if let cursorJSON = object.optional("cursor") {
            guard case .string(let cursor) = cursorJSON else {
                throw TesseraError(
                    .invalidBody,
                    "cursor must be the string the previous page returned, not \(BodyObject.describe(cursorJSON))."
                )
            }
            query.after = try Cursor.decodeEntityID(cursor)
        }
        return query
    }
}
