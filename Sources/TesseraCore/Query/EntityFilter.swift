/// A comparison in an entity filter's condition.
package enum FilterOperator: String, Sendable, CaseIterable {
    case eq = "="
    case ne = "!="
    case lt = "<"
    case le = "<="
    case gt = ">"
    case ge = ">="
    /// The entity has a value for the attribute; takes no `value`.
    case exists
    /// The value is one of a list of scalars.
    case `in`
}

/// The filter of `POST /v1/query/entities`: conditions on entities' latest
/// attribute values, combined with `and` and `or`, as the client sends it:
///
///     {"and": [{"attribute": "temp", "op": ">", "value": 20},
///              {"or": [{"attribute": "status", "op": "exists"}, …]}]}
///
/// A node is either `{"and": [...]}`, `{"or": [...]}` (a non-empty list, nothing
/// else in the object) or a condition `{"attribute", "op", "value"}`. Bounded so a
/// filter stays cheap to plan: `maxDepth` levels, `maxConditions` conditions,
/// `maxInValues` values in an `in` list.
package indirect enum EntityFilter: Sendable, Equatable {
    case and([EntityFilter])
    case or([EntityFilter])
    /// value: nil for `exists`; `.array` of scalars for `in`; a scalar (number, string, bool) otherwise.
    case condition(attribute: String, op: FilterOperator, value: JSONValue?)

    package static let maxDepth = 8
    package static let maxConditions = 64
    package static let maxInValues = 1_000

    /// Parses the value of the body's `filter`. Errors name the JSON path, like `filter.and[1].op`.
    package static func parse(_ json: JSONValue) throws(TesseraError) -> EntityFilter {
        var parser = Parser()
        return try parser.node(json, path: "filter", depth: 1)
    }

    /// Every attribute name the filter mentions.
    package var attributeNames: Set<String> {
        switch self {
        case .and(let children), .or(let children):
            children.reduce(into: Set<String>()) { $0.formUnion($1.attributeNames) }
        case .condition(let attribute, _, _):
            [attribute]
        }
    }
}

extension EntityFilter {
    private struct Parser {
        private var conditions = 0

        private static let operators = FilterOperator.allCases.map(\.rawValue).joined(separator: ", ")
        private static let nodeShapes =
            "a filter is {\"and\": [...]}, {\"or\": [...]} or a condition {\"attribute\": ..., \"op\": ..., \"value\": ...}"

        mutating func node(_ json: JSONValue, path: String, depth: Int) throws(TesseraError) -> EntityFilter {
            guard depth <= EntityFilter.maxDepth else {
                throw TesseraError(
                    .invalidBody,
                    "\(path) is nested \(depth) levels deep; filters nest at most \(EntityFilter.maxDepth) levels."
                )
            }
            let object = try BodyObject(json, path: path, name: path)
            if object.isEmpty {
                throw TesseraError(.invalidBody, "\(path) is an empty object; \(Self.nodeShapes).")
            }
            let hasAnd = object["and"] != nil
            let hasOr = object["or"] != nil
            if hasAnd && hasOr {
                throw TesseraError(
                    .invalidBody,
                    "\(path) has both \"and\" and \"or\"; a filter node is one of them, so nest one inside the other."
                )
            }
            guard hasAnd || hasOr else { return try self.condition(object) }

            let key = hasAnd ? "and" : "or"
            if let other = object.keys.first(where: { $0 != key }) {
                throw TesseraError(
                    .invalidBody,
                    "\(path) has \"\(key)\" and also \"\(BodyObject.printable(other))\"; a node with \"\(key)\" has no other "
                        + "field: put conditions inside its list."
                )
            }
            guard case .array(let items)? = object[key], !items.isEmpty else {
                throw TesseraError(.invalidBody, "\(object.path(key)) must be a non-empty array of filters.")
            }
            var children = [EntityFilter]()
            children.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                children.append(try self.node(item, path: "\(object.path(key))[\(index)]", depth: depth + 1))
            }
            return hasAnd ? .and(children) : .or(children)
        }

        private mutating func condition(_ object: BodyObject) throws(TesseraError) -> EntityFilter {
            let path = object.path
            try object.rejectUnknown(allowed: ["attribute", "op", "value"], expecting: Self.nodeShapes)

            guard let attributeJSON = object["attribute"] else {
                throw TesseraError(.invalidBody, "\(object.path("attribute")) is required: the name of the attribute to test.")
            }
            guard case .string(let attribute) = attributeJSON else {
                throw TesseraError(
                    .invalidBody,
                    "\(object.path("attribute")) must be a string, not \(BodyObject.describe(attributeJSON))."
                )
            }
            do {
                try NameRules.validateAttributeName(attribute)
            } catch {
                throw TesseraError(error.code, "\(object.path("attribute")): \(error.detail)")
            }

            guard let opJSON = object["op"] else {
                throw TesseraError(.invalidBody, "\(object.path("op")) is required: one of \(Self.operators).")
            }
            guard case .string(let opText) = opJSON, let op = FilterOperator(rawValue: opText) else {
                throw TesseraError(
                    .invalidBody,
                    "\(object.path("op")) must be one of \(Self.operators); got \(BodyObject.describe(opJSON))."
                )
            }

            self.conditions += 1
            guard self.conditions <= EntityFilter.maxConditions else {
                throw TesseraError(
                    .invalidBody,
                    "filter has more than \(EntityFilter.maxConditions) conditions (the one past the limit is \(path)); "
                        + "use \"in\" to test one attribute against a list of values."
                )
            }

            let value = try self.value(object["value"], op: op, path: object.path("value"))
            return .condition(attribute: attribute, op: op, value: value)
        }

        /// The value checked against what `op` needs.
        private func value(_ value: JSONValue?, op: FilterOperator, path: String) throws(TesseraError) -> JSONValue? {
            if op == .exists {
                guard value == nil else {
                    throw TesseraError(.invalidBody, "\(path) must be left out: op \"exists\" takes no value.")
                }
                return nil
            }
            guard let value else {
                throw TesseraError(.invalidBody, "\(path) is required for op \"\(op.rawValue)\".")
            }
            switch op {
            case .lt, .le, .gt, .ge:
                switch value {
                case .number(let literal, _) where BodyObject.isFinite(literal):
                    return value
                case .string(let text) where !text.utf8.contains(0):
                    return value
                default:
                    throw self.badValue(value, path: path, "a number or a string for op \"\(op.rawValue)\"")
                }
            case .eq, .ne:
                if case .null = value {
                    throw TesseraError(
                        .invalidBody,
                        "\(path) must not be null: use op \"exists\" to test whether an entity has the attribute."
                    )
                }
                guard Self.isScalar(value) else {
                    throw self.badValue(value, path: path, "a number, a string or a boolean for op \"\(op.rawValue)\"")
                }
                return value
            case .in:
                guard case .array(let items) = value, !items.isEmpty else {
                    throw self.badValue(value, path: path, "a non-empty array of numbers, strings or booleans for op \"in\"")
                }
                guard items.count <= EntityFilter.maxInValues else {
                    throw TesseraError(
                        .invalidBody,
                        "\(path) lists \(items.count) values; op \"in\" takes at most \(EntityFilter.maxInValues)."
                    )
                }
                for (index, item) in items.enumerated() where !Self.isScalar(item) {
                    throw self.badValue(item, path: "\(path)[\(index)]", "a number, a string or a boolean")
                }
                return value
            case .exists:
                return nil
            }
        }

        private func badValue(_ value: JSONValue, path: String, _ expected: String) -> TesseraError {
            if case .number(let literal, _) = value, !BodyObject.isFinite(literal) {
                return TesseraError(
                    .invalidBody,
                    "\(path) \(BodyObject.printable(literal)) is out of range: a number must fit a 64-bit double."
                )
            }
            return TesseraError(.invalidBody, "\(path) must be \(expected), not \(BodyObject.describe(value)).")
        }

        private static func isScalar(_ value: JSONValue) -> Bool {
            switch value {
            case .number(let literal, _): BodyObject.isFinite(literal)
            case .string(let text): !text.utf8.contains(0)  // jsonb cannot hold U+0000
            case .bool: true
            case .null, .array, .object: false
            }
        }
    }
}
