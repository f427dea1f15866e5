/// An aggregate over one attribute's values in a time bucket.
package enum AggregateFunction: String, Sendable, CaseIterable {
    case avg, min, max, sum, count, first, last
}

/// The body of `POST /v1/query/aggregate`:
///
///     {"attribute": "temp", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z",
///      "bucket": "1h", "fn": ["avg", "max"], "entities": ["dev-1"], "group_by": "entity"}
///
/// `attribute`, `from`, `to` and `bucket` are required; `null` counts as absent
/// for the optional fields. Bounded by `Limits` so one request cannot ask for an
/// unbounded range or an unbounded number of buckets.
package struct AggregateQuery: Sendable, Equatable {
    package var attribute: String
    /// Inclusive, microseconds since 1970.
    package var fromMicros: Int64
    /// Exclusive, microseconds since 1970.
    package var toMicros: Int64
    package var bucket: TimeBucket
    /// Distinct, in the order asked; `defaultFunctions` when the body has no `fn`.
    package var functions: [AggregateFunction]
    /// Validated distinct entity keys; nil for every entity of the tenant.
    package var entities: [String]?
    /// One series per entity rather than one over all of them.
    package var groupByEntity: Bool

    package static let defaultFunctions: [AggregateFunction] = [.avg, .min, .max, .count]
    package static let maxEntities = 1_000

    package struct Limits: Sendable {
        /// Longest `to - from`.
        package var maxRangeMicros: Int64
        /// Most buckets one query may produce (per entity when grouped).
        package var maxBuckets: Int

        package init(maxRangeMicros: Int64 = 400 * 86_400 * 1_000_000, maxBuckets: Int = 10_000) {
            self.maxRangeMicros = maxRangeMicros
            self.maxBuckets = maxBuckets
        }
    }

    package init(
        attribute: String,
        fromMicros: Int64,
        toMicros: Int64,
        bucket: TimeBucket,
        functions: [AggregateFunction] = AggregateQuery.defaultFunctions,
        entities: [String]? = nil,
        groupByEntity: Bool = false
    ) {
        self.attribute = attribute
        self.fromMicros = fromMicros
        self.toMicros = toMicros
        self.bucket = bucket
        self.functions = functions
        self.entities = entities
        self.groupByEntity = groupByEntity
    }

    package static func parse(_ body: JSONValue, limits: Limits) throws(TesseraError) -> AggregateQuery {
        let object = try BodyObject(body, path: "", name: "The request body")
        try object.rejectUnknown(
            allowed: ["attribute", "from", "to", "bucket", "fn", "entities", "group_by"],
            expecting: "the body takes attribute, from, to, bucket, fn, entities and group_by"
        )

        guard let attributeJSON = object.optional("attribute") else {
            throw TesseraError(.invalidBody, "attribute is required: the name of the attribute to aggregate.")
        }
        guard case .string(let attribute) = attributeJSON else {
            throw TesseraError(.invalidBody, "attribute must be a string, not \(BodyObject.describe(attributeJSON)).")
        }
        do {
            try NameRules.validateAttributeName(attribute)
        } catch {
            throw TesseraError(error.code, "attribute: \(error.detail)")
        }

        let from = try self.time(object, "from")
        let to = try self.time(object, "to")
        guard to > from else {
            throw TesseraError(
                .invalidBody,
                "to (\(Timestamps.format(micros: to))) must be after from (\(Timestamps.format(micros: from)))."
            )
        }
        let range = to - from  // both within Timestamps.queryRange: no overflow
        guard range <= limits.maxRangeMicros else {
            throw TesseraError(
                .invalidBody,
                "The range from \(Timestamps.format(micros: from)) to \(Timestamps.format(micros: to)) spans "
                    + "\(self.describe(duration: range)); the limit is \(self.describe(duration: limits.maxRangeMicros)). "
                    + "Ask for a shorter range."
            )
        }

        guard let bucketJSON = object.optional("bucket") else {
            throw TesseraError(.invalidBody, "bucket is required: the width of each time bucket, such as \"1h\".")
        }
        guard case .string(let bucketText) = bucketJSON else {
            throw TesseraError(.invalidBody, "bucket must be a string such as \"1h\", not \(BodyObject.describe(bucketJSON)).")
        }
        let bucket = try TimeBucket.parse(bucketText)
        let buckets = self.bucketCount(range: range, bucket: bucket.micros)
        guard buckets <= Int64(limits.maxBuckets) else {
            let suggestion =
                self.suggestedBucket(range: range, above: bucket.micros, maxBuckets: limits.maxBuckets)
                .map { "Use a bigger bucket, such as \($0)." } ?? "Use a bigger bucket or a shorter range."
            throw TesseraError(
                .invalidBody,
                "bucket \(bucket.text) over \(self.describe(duration: range)) makes \(buckets) buckets; "
                    + "the limit is \(limits.maxBuckets). \(suggestion)"
            )
        }

        return AggregateQuery(
            attribute: attribute,
            fromMicros: from,
            toMicros: to,
            bucket: bucket,
            functions: try self.functions(object.optional("fn")),
            entities: try self.entities(object.optional("entities")),
            groupByEntity: try self.groupByEntity(object.optional("group_by"))
        )
    }

    private static func time(_ object: BodyObject, _ key: String) throws(TesseraError) -> Int64 {
        let expected = "an RFC 3339 timestamp such as 2026-11-01T00:00:00Z or a whole number of epoch milliseconds"
        guard let json = object.optional(key) else {
            throw TesseraError(.invalidBody, "\(key) is required: \(expected).")
        }
        switch json {
        case .string(let text):
            if let micros = Timestamps.queryMicros(rfc3339: text) { return micros }
        case .number(let literal, true):
            if let micros = Timestamps.queryMicros(epochMillis: literal) { return micros }
        default:
            break
        }
        throw TesseraError(
            .invalidBody,
            "\(key) must be \(expected), in the years 0000 to 9999; got \(BodyObject.describe(json))."
        )
    }

    private static func functions(_ json: JSONValue?) throws(TesseraError) -> [AggregateFunction] {
        let names: [(path: String, value: JSONValue)]
        switch json {
        case nil:
            return self.defaultFunctions
        case .string(let name)?:
            names = [("fn", .string(name))]
        case .array(let items)?:
            guard !items.isEmpty else {
                throw TesseraError(.invalidBody, "fn must name at least one function; leave it out for avg, min, max and count.")
            }
            names = items.enumerated().map { ("fn[\($0.offset)]", $0.element) }
        case let other?:
            throw TesseraError(
                .invalidBody,
                "fn must be a function name or a list of them, such as [\"avg\", \"max\"], not \(BodyObject.describe(other))."
            )
        }
        var functions = [AggregateFunction]()
        for (path, value) in names {
            guard case .string(let name) = value, let function = AggregateFunction(rawValue: name) else {
                let known = AggregateFunction.allCases.map(\.rawValue).joined(separator: ", ")
                throw TesseraError(.invalidBody, "\(path) must be one of \(known); got \(BodyObject.describe(value)).")
            }
            if !functions.contains(function) { functions.append(function) }
        }
        return functions
    }

    private static func entities(_ json: JSONValue?) throws(TesseraError) -> [String]? {
        guard let json else { return nil }
        guard case .array(let items) = json else {
            throw TesseraError(.invalidBody, "entities must be an array of entity keys, not \(BodyObject.describe(json)).")
        }
        guard !items.isEmpty else {
            throw TesseraError(.invalidBody, "entities must not be empty; leave it out to aggregate over every entity.")
        }
        guard items.count <= self.maxEntities else {
            throw TesseraError(.invalidBody, "entities lists \(items.count) keys; the limit is \(self.maxEntities).")
        }
        var keys = [String]()
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            guard case .string(let key) = item else {
                throw TesseraError(.invalidBody, "entities[\(index)] must be a string, not \(BodyObject.describe(item)).")
            }
            do {
                try NameRules.validateEntityKey(key)
            } catch {
                throw TesseraError(error.code, "entities[\(index)]: \(error.detail)")
            }
            if seen.insert(key).inserted { keys.append(key) }
        }
        return keys
    }

    private static func groupByEntity(_ json: JSONValue?) throws(TesseraError) -> Bool {
        switch json {
        case nil: return false
        case .string("entity")?: return true
        case let other?:
            throw TesseraError(.invalidBody, "group_by must be \"entity\" or left out, not \(BodyObject.describe(other)).")
        }
    }

    /// ceil(range / bucket), without overflow.
    private static func bucketCount(range: Int64, bucket: Int64) -> Int64 {
        range / bucket + (range % bucket == 0 ? 0 : 1)
    }

    private static let commonBuckets: [(text: String, micros: Int64)] = [
        ("1m", 60_000_000), ("5m", 300_000_000), ("15m", 900_000_000), ("1h", 3_600_000_000),
        ("6h", 21_600_000_000), ("1d", 86_400_000_000), ("7d", 604_800_000_000), ("30d", 2_592_000_000_000),
    ]

    /// The smallest common bucket wider than `above` that keeps within `maxBuckets`.
    private static func suggestedBucket(range: Int64, above: Int64, maxBuckets: Int) -> String? {
        self.commonBuckets.first { $0.micros > above && self.bucketCount(range: range, bucket: $0.micros) <= Int64(maxBuckets) }?.text
    }

    /// A duration for an error message, like `401 days`, `12.5 hours`.
    private static func describe(duration micros: Int64) -> String {
        let units: [(micros: Int64, name: String)] = [
            (86_400_000_000, "day"), (3_600_000_000, "hour"), (60_000_000, "minute"), (1_000_000, "second"),
        ]
        let unit = units.first { micros >= $0.micros } ?? units[units.count - 1]
        let tenths = Int64((Double(micros) / Double(unit.micros) * 10).rounded())
        let number = tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
        return "\(number) \(unit.name)\(number == "1" ? "" : "s")"
    }
}
