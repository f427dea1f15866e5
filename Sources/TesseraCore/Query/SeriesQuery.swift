/// The query string of `GET /v1/entities/{key}/series/{attribute}`:
/// `?from=&to=&limit=&cursor=&order=asc|desc`. Every parameter is optional, and
/// an empty one (`from=`) counts as absent.
package struct SeriesQuery: Sendable, Equatable {
    /// Inclusive, microseconds since 1970.
    package var fromMicros: Int64?
    /// Exclusive, microseconds since 1970.
    package var toMicros: Int64?
    package var limit: Int
    /// From the cursor: the time of the previous page's last point; the next page
    /// continues strictly after it in the query's order.
    package var afterMicros: Int64?
    package var descending: Bool

    package static let defaultLimit = 1_000
    package static let maxLimit = 10_000

    package init(
        fromMicros: Int64? = nil,
        toMicros: Int64? = nil,
        limit: Int = SeriesQuery.defaultLimit,
        afterMicros: Int64? = nil,
        descending: Bool = false
    ) {
        self.fromMicros = fromMicros
        self.toMicros = toMicros
        self.limit = limit
        self.afterMicros = afterMicros
        self.descending = descending
    }

    /// `from` and `to` are RFC 3339 timestamps or epoch milliseconds. Errors are
    /// `invalid_parameter` and name the parameter.
    package static func parse(
        from: String?,
        to: String?,
        limit: String?,
        cursor: String?,
        order: String?
    ) throws(TesseraError) -> SeriesQuery {
        var query = SeriesQuery()
        if let from = self.present(from) {
            query.fromMicros = try self.time(from, parameter: "from")
        }
        if let to = self.present(to) {
            query.toMicros = try self.time(to, parameter: "to")
        }
        if let from = query.fromMicros, let to = query.toMicros, to <= from {
            throw TesseraError(
                .invalidParameter,
                "to (\(Timestamps.format(micros: to))) must be after from (\(Timestamps.format(micros: from)))."
            )
        }
        if let limit = self.present(limit) {
            guard let value = Int(limit), String(value) == limit, (1...self.maxLimit).contains(value) else {
                throw TesseraError(
                    .invalidParameter,
                    "limit must be a whole number from 1 to \(self.maxLimit); got \"\(NameRules.printable(limit, limit: 32))\"."
                )
            }
            query.limit = value
        }
        if let cursor = self.present(cursor) {
            query.afterMicros = try Cursor.decodeTime(cursor)
        }
        if let order = self.present(order) {
            switch order.lowercased() {
            case "asc": query.descending = false
            case "desc": query.descending = true
            default:
                throw TesseraError(
                    .invalidParameter,
                    "order must be asc or desc; got \"\(NameRules.printable(order, limit: 32))\"."
                )
            }
        }
        return query
    }

    private static func present(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    package static func time(_ text: String, parameter: String) throws(TesseraError) -> Int64 {
        if let micros = Timestamps.queryMicros(parameter: text) { return micros }
        // A "+02:00" offset sent unescaped arrives as " 02:00" once the query string is decoded.
        let hint = text.contains(" ") ? " In a URL, write + as %2B." : ""
        throw TesseraError(
            .invalidParameter,
            "\(parameter) must be an RFC 3339 timestamp such as 2026-11-01T00:00:00Z or epoch milliseconds, "
                + "in the years 0000 to 9999; got \"\(NameRules.printable(text, limit: 48))\".\(hint)"
        )
    }
}
