import TesseraCore
import Testing

/// 2026-11-01T00:00:00Z.
private let novemberFirst: Int64 = 1_793_491_200_000_000

private func seriesError(
    from: String? = nil,
    to: String? = nil,
    limit: String? = nil,
    cursor: String? = nil,
    order: String? = nil
) throws -> TesseraError {
    try #require(throws: TesseraError.self) {
        try SeriesQuery.parse(from: from, to: to, limit: limit, cursor: cursor, order: order)
    }
}

@Suite struct SeriesQueryTests {
    @Test func appliesDefaults() throws {
        let query = try SeriesQuery.parse(from: nil, to: nil, limit: nil, cursor: nil, order: nil)
        #expect(query == SeriesQuery(fromMicros: nil, toMicros: nil, limit: 1_000, afterMicros: nil, descending: false))
        // `?from=&to=&limit=&cursor=&order=` is the same as no parameters.
        #expect(try SeriesQuery.parse(from: "", to: "", limit: "", cursor: "", order: "") == query)
    }

    @Test func readsEveryParameter() throws {
        let cursor = Cursor.encode(timeMicros: novemberFirst + 1_500)
        let query = try SeriesQuery.parse(
            from: "2026-11-01T00:00:00Z",
            to: "1793577600000",
            limit: "10000",
            cursor: cursor,
            order: "desc"
        )
        #expect(query.fromMicros == novemberFirst)
        #expect(query.toMicros == novemberFirst + 86_400_000_000)
        #expect(query.limit == SeriesQuery.maxLimit)
        #expect(query.afterMicros == novemberFirst + 1_500)
        #expect(query.descending)
    }

    @Test func acceptsEitherBoundAlone() throws {
        #expect(try SeriesQuery.parse(from: "1793491200000", to: nil, limit: "1", cursor: nil, order: "ASC").fromMicros == novemberFirst)
        #expect(try SeriesQuery.parse(from: nil, to: "2026-11-01T02:00:00+02:00", limit: nil, cursor: nil, order: "Desc").toMicros == novemberFirst)
        // The first day of year 1, and a time before 1970.
        #expect(try SeriesQuery.parse(from: "-62135596800000", to: "-1", limit: nil, cursor: nil, order: nil).toMicros == -1_000)
    }

    @Test(arguments: ["yesterday", "2026-11-01", "2026-11-01T00:00:00", "1793491200000.5", "+1793491200000", "0x10", "253402300800000", "99999999999999999999"])
    func rejectsBadTimes(_ text: String) throws {
        let from = try seriesError(from: text)
        #expect(from.code == .invalidParameter)
        #expect(from.detail.hasPrefix("from must be an RFC 3339 timestamp"), "\(from.detail)")
        let to = try seriesError(to: text)
        #expect(to.code == .invalidParameter)
        #expect(to.detail.hasPrefix("to must be an RFC 3339 timestamp"), "\(to.detail)")
    }

    @Test func hintsAtAnUnescapedPlus() throws {
        let error = try seriesError(from: "2026-11-01T00:00:00 02:00")
        #expect(error.code == .invalidParameter)
        #expect(error.detail.contains("write + as %2B"))
    }

    @Test func needsToAfterFrom() throws {
        let same = try seriesError(from: "2026-11-01T00:00:00Z", to: "1793491200000")
        #expect(same.code == .invalidParameter)
        #expect(same.detail.contains("to (2026-11-01T00:00:00.000000Z) must be after from (2026-11-01T00:00:00.000000Z)"))
        #expect(throws: TesseraError.self) {
            try SeriesQuery.parse(from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z", limit: nil, cursor: nil, order: nil)
        }
    }

    @Test(arguments: ["0", "10001", "-5", "+5", "05", "1.5", "ten", " 5", "99999999999999999999"])
    func rejectsBadLimits(_ text: String) throws {
        let error = try seriesError(limit: text)
        #expect(error.code == .invalidParameter)
        #expect(error.detail.contains("limit must be a whole number from 1 to 10000"), "\(error.detail)")
    }

    @Test(arguments: ["up", "ascending", "asc ", "-1"])
    func rejectsBadOrders(_ text: String) throws {
        let error = try seriesError(order: text)
        #expect(error.code == .invalidParameter)
        #expect(error.detail.contains("order must be asc or desc"), "\(error.detail)")
    }

    @Test func rejectsCursorsItDidNotIssue() throws {
        for cursor in ["nope", "dDotNQ==", Cursor.encode(entityID: 5), "dDo", "dDowMQ"] {  // t:-5 padded, entity, "t:", "t:01"
            let error = try seriesError(cursor: cursor)
            #expect(error.code == .invalidParameter)
            #expect(error.detail.contains("cursor is not one this server issued"), "\(error.detail)")
        }
    }

    @Test(arguments: [-62_135_596_800_000_000, -5, 0, 1_793_491_200_000_000, 253_402_300_799_999_999])
    func timeCursorsRoundTrip(_ micros: Int64) throws {
        #expect(try Cursor.decodeTime(Cursor.encode(timeMicros: micros)) == micros)
    }

    /// Times outside the years 0001–9999 were never issued; at Int64's ends they made
    /// the server trap while formatting them.
    @Test(arguments: [Int64.min, Int64.min + 999_999, -62_135_596_800_000_001, 253_402_300_800_000_000, .max])
    func timeCursorsOutsideTheQueryRangeAreRefused(_ micros: Int64) throws {
        let error = try seriesError(cursor: Cursor.encode(timeMicros: micros))
        #expect(error.code == .invalidParameter)
    }
}
