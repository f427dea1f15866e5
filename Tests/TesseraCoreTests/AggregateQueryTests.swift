import TesseraCore
import Testing

private func json(_ text: String) throws -> JSONValue {
    try JSONReader.parse(Array(text.utf8))
}

private let day: Int64 = 86_400_000_000
private let hour: Int64 = 3_600_000_000

/// 2026-11-01T00:00:00Z and 2026-11-02T00:00:00Z.
private let novemberFirst: Int64 = 1_793_491_200_000_000
private let novemberSecond: Int64 = 1_793_577_600_000_000

/// A valid body with `extra` members added (or overriding, since the last repeated key would be refused).
private func body(
    _ extra: String = "",
    from: String = #""2026-11-01T00:00:00Z""#,
    to: String = #""2026-11-02T00:00:00Z""#,
    bucket: String = #""1h""#
) -> String {
    #"{"attribute": "temp", "from": \#(from), "to": \#(to), "bucket": \#(bucket)\#(extra)}"#
}

private func aggregateError(_ text: String, limits: AggregateQuery.Limits = .init()) throws -> TesseraError {
    let value = try json(text)
    return try #require(throws: TesseraError.self) { try AggregateQuery.parse(value, limits: limits) }
}

@Suite struct AggregateQueryTests {
    @Test func parsesAFullBody() throws {
        let query = try AggregateQuery.parse(
            json(
                #"""
                {"attribute": "temp", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z", "bucket": "1h",
                 "fn": ["avg", "min", "max", "sum", "count", "first", "last"], "entities": ["dev-1", "dev-2"], "group_by": "entity"}
                """#
            ),
            limits: .init()
        )
        #expect(query.attribute == "temp")
        #expect(query.fromMicros == novemberFirst)
        #expect(query.toMicros == novemberSecond)
        #expect(try query.bucket == TimeBucket.parse("1h"))
        #expect(query.bucket.micros == hour)
        #expect(query.functions == AggregateFunction.allCases)
        #expect(query.entities == ["dev-1", "dev-2"])
        #expect(query.groupByEntity)
    }

    @Test func appliesDefaults() throws {
        let query = try AggregateQuery.parse(json(body()), limits: .init())
        #expect(query.functions == [.avg, .min, .max, .count])
        #expect(query.entities == nil)
        #expect(!query.groupByEntity)

        let nulls = try AggregateQuery.parse(json(body(#", "fn": null, "entities": null, "group_by": null"#)), limits: .init())
        #expect(nulls == query)
    }

    @Test func acceptsEpochMillisecondsAndOffsets() throws {
        let query = try AggregateQuery.parse(
            json(body(from: "1793491200000", to: #""2026-11-02T01:00:00+01:00""#)),
            limits: .init()
        )
        #expect(query.fromMicros == novemberFirst)
        #expect(query.toMicros == novemberSecond)
    }

    @Test func readsFunctionLists() throws {
        let single = try AggregateQuery.parse(json(body(#", "fn": "sum""#)), limits: .init())
        #expect(single.functions == [.sum])
        let duplicated = try AggregateQuery.parse(json(body(#", "fn": ["max", "avg", "max", "last", "avg"]"#)), limits: .init())
        #expect(duplicated.functions == [.max, .avg, .last])
    }

    @Test func deduplicatesEntitiesKeepingOrder() throws {
        let query = try AggregateQuery.parse(json(body(#", "entities": ["b", "a", "b"]"#)), limits: .init())
        #expect(query.entities == ["b", "a"])
    }

    @Test(arguments: [
        (#"[]"#, TesseraError.Code.invalidBody, "The request body must be a JSON object"),
        (#"{"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z", "bucket": "1h"}"#, .invalidBody, "attribute is required"),
        (
            #"{"attribute": 1, "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z", "bucket": "1h"}"#, .invalidBody,
            "attribute must be a string, not 1"
        ),
        (
            #"{"attribute": "", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z", "bucket": "1h"}"#, .invalidName,
            "attribute: The attribute name must not be empty"
        ),
        (#"{"attribute": "temp", "to": "2026-11-02T00:00:00Z", "bucket": "1h"}"#, .invalidBody, "from is required"),
        (#"{"attribute": "temp", "from": "2026-11-01T00:00:00Z", "bucket": "1h"}"#, .invalidBody, "to is required"),
        (#"{"attribute": "temp", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}"#, .invalidBody, "bucket is required"),
        (body(#", "fns": ["avg"]"#), .invalidBody, "fns is not a known field"),
        (
            body(from: #""yesterday""#), .invalidBody,
            #"from must be an RFC 3339 timestamp such as 2026-11-01T00:00:00Z or a whole number of epoch milliseconds, in the years 0000 to 9999; got "yesterday""#
        ),
        (body(from: "1793491200000.5"), .invalidBody, "from must be an RFC 3339 timestamp"),
        (body(from: "1.7934912e12"), .invalidBody, "from must be an RFC 3339 timestamp"),
        (body(from: "true"), .invalidBody, "from must be an RFC 3339 timestamp"),
        (body(to: "253402300800000"), .invalidBody, "to must be an RFC 3339 timestamp"),  // year 10000
        (body(to: "99999999999999999999"), .invalidBody, "to must be an RFC 3339 timestamp"),
        (
            body(to: #""2026-11-01T00:00:00Z""#), .invalidBody,
            "to (2026-11-01T00:00:00.000000Z) must be after from (2026-11-01T00:00:00.000000Z)"
        ),
        (body(to: #""2026-10-31T00:00:00Z""#), .invalidBody, "must be after from"),
        (body(bucket: #""1w""#), .invalidBody, "bucket must look like 1m, 1h or 1d"),
        (body(bucket: "3600"), .invalidBody, #"bucket must be a string such as "1h", not 3600"#),
        (body(#", "fn": []"#), .invalidBody, "fn must name at least one function"),
        (body(#", "fn": 3"#), .invalidBody, "fn must be a function name or a list of them"),
        (body(#", "fn": "median""#), .invalidBody, #"fn must be one of avg, min, max, sum, count, first, last; got "median""#),
        (body(#", "fn": "AVG""#), .invalidBody, "fn must be one of"),
        (body(#", "fn": ["avg", "p99"]"#), .invalidBody, #"fn[1] must be one of avg, min, max, sum, count, first, last; got "p99""#),
        (body(#", "fn": ["avg", 1]"#), .invalidBody, "fn[1] must be one of"),
        (body(#", "entities": []"#), .invalidBody, "entities must not be empty"),
        (body(#", "entities": "dev-1""#), .invalidBody, "entities must be an array of entity keys"),
        (body(#", "entities": ["dev-1", 2]"#), .invalidBody, "entities[1] must be a string, not 2"),
        (body(#", "entities": ["dev-1", " dev-2"]"#), .invalidName, "entities[1]: The entity key must not begin or end with whitespace"),
        (body(#", "group_by": "attribute""#), .invalidBody, #"group_by must be "entity" or left out, not "attribute""#),
        (body(#", "group_by": true"#), .invalidBody, "group_by must be"),
        (body(#", "bucket": "1d""#), .invalidBody, "bucket appears more than once"),
    ])
    func rejectsBadBodies(_ text: String, _ code: TesseraError.Code, _ expected: String) throws {
        let error = try aggregateError(text)
        #expect(error.code == code)
        #expect(error.detail.contains(expected), "\(error.detail)")
    }

    @Test func capsEntityLists() throws {
        func entities(_ count: Int) -> String {
            #", "entities": ["# + (0..<count).map { #""dev-\#($0)""# }.joined(separator: ",") + "]"
        }
        #expect(try AggregateQuery.parse(json(body(entities(1_000))), limits: .init()).entities?.count == 1_000)
        let error = try aggregateError(body(entities(1_001)))
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains("entities lists 1001 keys; the limit is 1000"))
    }

    @Test func capsTheRange() throws {
        let limits = AggregateQuery.Limits()
        #expect(limits.maxRangeMicros == 400 * day)
        #expect(limits.maxBuckets == 10_000)

        let exactly = try AggregateQuery.parse(
            json(body(from: #""2026-01-01T00:00:00Z""#, to: #""2027-02-05T00:00:00Z""#, bucket: #""1d""#)),
            limits: limits
        )
        #expect(exactly.toMicros - exactly.fromMicros == 400 * day)

        let error = try aggregateError(body(from: #""2026-01-01T00:00:00Z""#, to: #""2027-02-06T00:00:00Z""#, bucket: #""1d""#))
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains("spans 401 days; the limit is 400 days"), "\(error.detail)")

        let custom = try aggregateError(body(to: #""2026-11-02T12:00:00Z""#), limits: .init(maxRangeMicros: day))
        #expect(custom.detail.contains("spans 1.5 days; the limit is 1 day"), "\(custom.detail)")
    }

    @Test func capsTheBucketCountAndSuggestsABiggerBucket() throws {
        // A day in 1s buckets: 86,400 buckets against 10,000.
        let seconds = try aggregateError(body(bucket: #""1s""#))
        #expect(seconds.code == .invalidBody)
        #expect(seconds.detail.contains("makes 86400 buckets; the limit is 10000"), "\(seconds.detail)")
        #expect(seconds.detail.contains("Use a bigger bucket, such as 1m."), "\(seconds.detail)")

        // 24 one-hour buckets fit a limit of 24 exactly; 30-minute buckets do not.
        let limits = AggregateQuery.Limits(maxBuckets: 24)
        #expect(try AggregateQuery.parse(json(body()), limits: limits).bucket.micros == hour)
        let halfHours = try aggregateError(body(bucket: #""30m""#), limits: limits)
        #expect(halfHours.detail.contains("makes 48 buckets; the limit is 24. Use a bigger bucket, such as 1h."), "\(halfHours.detail)")
    }

    @Test func countsAPartialLastBucket() throws {
        // 90 minutes in 1h buckets is two buckets.
        let limits = AggregateQuery.Limits(maxBuckets: 1)
        let error = try aggregateError(body(to: #""2026-11-01T01:30:00Z""#), limits: limits)
        #expect(error.detail.contains("makes 2 buckets; the limit is 1"), "\(error.detail)")
        #expect(error.detail.contains("Use a bigger bucket, such as 6h."), "\(error.detail)")

        let nothingFits = try aggregateError(body(to: #""2026-11-01T01:30:00Z""#), limits: .init(maxBuckets: 0))
        #expect(nothingFits.detail.contains("Use a bigger bucket or a shorter range."), "\(nothingFits.detail)")
    }
}

private let goodBuckets: [(String, Int64)] = [
    ("1s", 1_000_000), ("30s", 30_000_000), ("1m", 60_000_000), ("5m", 300_000_000), ("1h", 3_600_000_000),
    ("6h", 21_600_000_000), ("1d", 86_400_000_000), ("7d", 604_800_000_000), ("366d", 366 * 86_400_000_000),
    ("8784h", 366 * 86_400_000_000), ("90s", 90_000_000),
]

@Suite struct TimeBucketTests {
    @Test(arguments: goodBuckets)
    func parsesBuckets(_ text: String, _ micros: Int64) throws {
        let bucket = try TimeBucket.parse(text)
        #expect(bucket.micros == micros)
        #expect(bucket.text == text)
    }

    @Test(arguments: ["", "m", "1", "h1", "1w", "1M", "1H", "1.5h", "-1h", "+1h", " 1h", "1h ", "1 h", "01h", "1hh", "1e3s", "١h"])
    func rejectsMalformedBuckets(_ text: String) throws {
        let error = try #require(throws: TesseraError.self) { try TimeBucket.parse(text) }
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains("bucket must look like 1m, 1h or 1d"), "\(error.detail)")
    }

    @Test func boundsBucketWidth() throws {
        let zero = try #require(throws: TesseraError.self) { try TimeBucket.parse("0s") }
        #expect(zero.detail.contains("shorter than 1s"))
        for text in ["367d", "8785h", "527041m", "99999999999999999999999999d"] {
            let error = try #require(throws: TesseraError.self) { try TimeBucket.parse(text) }
            #expect(error.code == .invalidBody)
            #expect(error.detail.contains("longer than 366d"), "\(error.detail)")
        }
    }
}
