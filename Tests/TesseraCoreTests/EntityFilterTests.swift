import TesseraCore
import Testing

private func json(_ text: String) throws -> JSONValue {
    try JSONReader.parse(Array(text.utf8))
}

private func filterError(_ text: String) throws -> TesseraError {
    let value = try json(text)
    return try #require(throws: TesseraError.self) { try EntityFilter.parse(value) }
}

private func queryError(_ text: String) throws -> TesseraError {
    let value = try json(text)
    return try #require(throws: TesseraError.self) { try EntityQuery.parse(value) }
}

/// `{"and": [c, c, …]}` with `count` conditions on attributes a0, a1, …
private func conjunction(of count: Int, key: String = "and") -> String {
    let conditions = (0..<count).map { #"{"attribute": "a\#($0)", "op": "exists"}"# }
    return #"{"\#(key)": ["# + conditions.joined(separator: ",") + "]}"
}

@Suite struct EntityFilterTests {
    @Test func parsesNestedFilter() throws {
        let filter = try EntityFilter.parse(
            json(
                #"""
                {"and": [
                    {"attribute": "temp", "op": ">", "value": 20},
                    {"or": [{"attribute": "mode", "op": "in", "value": ["eco", "off"]},
                            {"attribute": "on", "op": "=", "value": true}]},
                    {"attribute": "status", "op": "exists"}
                ]}
                """#
            )
        )
        #expect(
            filter
                == .and([
                    .condition(attribute: "temp", op: .gt, value: .number(literal: "20", isInteger: true)),
                    .or([
                        .condition(attribute: "mode", op: .in, value: .array([.string("eco"), .string("off")])),
                        .condition(attribute: "on", op: .eq, value: .bool(true)),
                    ]),
                    .condition(attribute: "status", op: .exists, value: nil),
                ])
        )
        #expect(filter.attributeNames == ["temp", "mode", "on", "status"])
    }

    @Test func aBareConditionOrASingleChildIsAFilter() throws {
        #expect(
            try EntityFilter.parse(json(#"{"attribute": "name", "op": "!=", "value": "x"}"#))
                == .condition(attribute: "name", op: .ne, value: .string("x"))
        )
        #expect(
            try EntityFilter.parse(json(#"{"or": [{"attribute": "t", "op": "<=", "value": -1.5e2}]}"#))
                == .or([.condition(attribute: "t", op: .le, value: .number(literal: "-1.5e2", isInteger: false))])
        )
    }

    @Test(arguments: FilterOperator.allCases)
    func acceptsEveryOperatorWithItsValue(_ op: FilterOperator) throws {
        let value =
            switch op {
            case .exists: ""
            case .in: #", "value": [1, "two", false]"#
            case .lt, .le, .gt, .ge: #", "value": "2026-01-01""#
            case .eq, .ne: #", "value": false"#
            }
        let filter = try EntityFilter.parse(json(#"{"attribute": "a", "op": "\#(op.rawValue)"\#(value)}"#))
        guard case .condition(let attribute, let parsedOp, let parsedValue) = filter else {
            Issue.record("not a condition: \(filter)")
            return
        }
        #expect(attribute == "a")
        #expect(parsedOp == op)
        #expect((parsedValue == nil) == (op == .exists))
    }

    @Test(arguments: [
        (#"[]"#, "filter must be a JSON object, not an array"),
        (#""temp > 20""#, "filter must be a JSON object"),
        (#"{}"#, "filter is an empty object"),
        (#"{"and": []}"#, "filter.and must be a non-empty array of filters"),
        (#"{"or": {"attribute": "a", "op": "exists"}}"#, "filter.or must be a non-empty array of filters"),
        (#"{"and": [{"attribute": "a", "op": "exists"}], "or": []}"#, #"filter has both "and" and "or""#),
        (#"{"and": [{"attribute": "a", "op": "exists"}], "attribute": "b"}"#, #"filter has "and" and also "attribute""#),
        (#"{"and": [{"attribute": "a", "op": "like", "value": 1}]}"#, "filter.and[0].op must be one of =, !=, <, <=, >, >=, exists, in"),
        (
            #"{"and": [{"attribute": "a", "op": ">"}, {"attribute": "a", "op": ">", "value": 1, "unit": "C"}]}"#,
            #"filter.and[0].value is required for op ">""#
        ),
        (#"{"attribute": "a", "op": ">", "value": 1, "unit": "C"}"#, "filter.unit is not a known field"),
        (#"{"op": "=", "value": 1}"#, "filter.attribute is required"),
        (#"{"attribute": 5, "op": "=", "value": 1}"#, "filter.attribute must be a string, not 5"),
        (#"{"attribute": "a", "value": 1}"#, "filter.op is required"),
        (#"{"attribute": "a", "op": 1}"#, "filter.op must be one of"),
        (#"{"attribute": "a", "op": "="}"#, #"filter.value is required for op "=""#),
        (#"{"attribute": "a", "op": "exists", "value": true}"#, #"filter.value must be left out: op "exists" takes no value"#),
        (#"{"attribute": "a", "op": "exists", "value": null}"#, "filter.value must be left out"),
        (#"{"attribute": "a", "op": "=", "value": null}"#, #"use op "exists""#),
        (#"{"attribute": "a", "op": "!=", "value": null}"#, "filter.value must not be null"),
        (#"{"attribute": "a", "op": "<", "value": true}"#, #"filter.value must be a number or a string for op "<", not true"#),
        (#"{"attribute": "a", "op": ">=", "value": null}"#, "filter.value must be a number or a string"),
        (#"{"attribute": "a", "op": "=", "value": [1]}"#, "filter.value must be a number, a string or a boolean"),
        (#"{"attribute": "a", "op": "=", "value": {"x": 1}}"#, "not an object"),
        (#"{"attribute": "a", "op": ">", "value": 1e999}"#, "filter.value 1e999 is out of range"),
        (#"{"attribute": "a", "op": "in", "value": []}"#, #"filter.value must be a non-empty array of numbers, strings or booleans for op "in""#),
        (#"{"attribute": "a", "op": "in", "value": "x"}"#, "filter.value must be a non-empty array"),
        (#"{"attribute": "a", "op": "in", "value": [1, null]}"#, "filter.value[1] must be a number, a string or a boolean, not null"),
        (#"{"attribute": "a", "op": "in", "value": [[1]]}"#, "filter.value[0] must be"),
        (
            #"{"or": [{"attribute": "a", "op": "exists"}, {"attribute": "a", "op": "exists", "op": "="}]}"#,
            "filter.or[1].op appears more than once"
        ),
        (
            #"{"and": [{"attribute": "a", "op": "exists"}, {"or": [{"attribute": "b", "op": "in", "value": ["x", 1]}, {"attribute": "c", "op": "=", "value": null}]}]}"#,
            "filter.and[1].or[1].value must not be null"
        ),
    ])
    func rejectsMalformedFilters(_ text: String, _ expected: String) throws {
        let error = try filterError(text)
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains(expected), "\(error.detail)")
    }

    @Test func validatesAttributeNamesAndSaysWhere() throws {
        let empty = try filterError(#"{"and": [{"attribute": "", "op": "exists"}]}"#)
        #expect(empty.code == .invalidName)
        #expect(empty.detail.contains("filter.and[0].attribute"))
        #expect(empty.detail.contains("must not be empty"))

        let control = try filterError(#"{"attribute": "bad\u0001name", "op": "exists"}"#)
        #expect(control.code == .invalidName)
        #expect(!control.detail.unicodeScalars.contains(where: NameRules.isForbidden))

        let long = try filterError(#"{"attribute": "\#(String(repeating: "x", count: 129))", "op": "exists"}"#)
        #expect(long.code == .invalidName)
    }

    @Test func limitsNestingDepth() throws {
        func nested(_ levels: Int) -> String {
            var text = #"{"attribute": "a", "op": "exists"}"#
            for level in 0..<levels { text = #"{"\#(level % 2 == 0 ? "and" : "or")": ["# + text + "]}" }
            return text
        }
        // Seven and/or levels around a condition: eight levels in all, the most allowed.
        _ = try EntityFilter.parse(json(nested(EntityFilter.maxDepth - 1)))
        let error = try filterError(nested(EntityFilter.maxDepth))
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains("nested 9 levels deep"))
        #expect(error.detail.contains("at most 8 levels"))
    }

    @Test func limitsConditionCountAcrossTheWholeTree() throws {
        let sixtyFour = try EntityFilter.parse(json(conjunction(of: 64)))
        #expect(sixtyFour.attributeNames.count == 64)

        let flat = try filterError(conjunction(of: 65))
        #expect(flat.code == .invalidBody)
        #expect(flat.detail.contains("more than 64 conditions"))
        #expect(flat.detail.contains("filter.and[64]"))

        let split = try filterError(#"{"and": ["# + conjunction(of: 32, key: "or") + "," + conjunction(of: 33, key: "or") + "]}")
        #expect(split.detail.contains("more than 64 conditions"))
        #expect(split.detail.contains("filter.and[1].or[32]"))
    }

    @Test func limitsInListsToAThousandValues() throws {
        func inList(_ count: Int) -> String {
            #"{"attribute": "a", "op": "in", "value": ["# + (0..<count).map(String.init).joined(separator: ",") + "]}"
        }
        guard case .condition(_, .in, .array(let values)?) = try EntityFilter.parse(json(inList(1_000))) else {
            Issue.record("not an in condition")
            return
        }
        #expect(values.count == 1_000)
        let error = try filterError(inList(1_001))
        #expect(error.code == .invalidBody)
        #expect(error.detail.contains("filter.value lists 1001 values"))
        #expect(error.detail.contains("at most 1000"))
    }

    @Test func attributeNamesAreDistinct() throws {
        let filter = try EntityFilter.parse(
            json(
                #"""
                {"or": [{"attribute": "t", "op": ">", "value": 1}, {"and": [{"attribute": "t", "op": "<", "value": 9}, {"attribute": "u", "op": "exists"}]}]}
                """#
            )
        )
        #expect(filter.attributeNames == ["t", "u"])
    }
}

@Suite struct EntityQueryTests {
    @Test func appliesDefaults() throws {
        let query = try EntityQuery.parse(json(#"{"filter": {"attribute": "a", "op": "exists"}}"#))
        #expect(query == EntityQuery(filter: .condition(attribute: "a", op: .exists, value: nil), limit: 100, after: nil))
    }

    @Test func readsLimitAndCursor() throws {
        let cursor = Cursor.encode(entityID: 42)
        let query = try EntityQuery.parse(json(#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 1000, "cursor": "\#(cursor)"}"#))
        #expect(query.limit == 1_000)
        #expect(query.after == 42)

        let nulls = try EntityQuery.parse(json(#"{"filter": {"attribute": "a", "op": "exists"}, "limit": null, "cursor": null}"#))
        #expect(nulls.limit == EntityQuery.defaultLimit)
        #expect(nulls.after == nil)
    }

    @Test(arguments: [
        (#"[1]"#, TesseraError.Code.invalidBody, "The request body must be a JSON object"),
        (#"{}"#, .invalidBody, "filter is required"),
        (#"{"filter": null}"#, .invalidBody, "filter is required"),
        (
            #"{"filter": {"attribute": "a", "op": "exists"}, "offset": 10}"#, .invalidBody,
            "offset is not a known field; the body takes filter, limit and cursor"
        ),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 0}"#, .invalidBody, "limit must be a whole number from 1 to 1000, not 0"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 1001}"#, .invalidBody, "limit must be a whole number from 1 to 1000"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 10.0}"#, .invalidBody, "limit must be a whole number"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": "10"}"#, .invalidBody, "limit must be a whole number"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 99999999999999999999999}"#, .invalidBody, "limit must be a whole number"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "cursor": 42}"#, .invalidBody, "cursor must be the string the previous page returned"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "cursor": "not-a-cursor"}"#, .invalidParameter, "cursor is not one this server issued"),
        (#"{"filter": {"attribute": "a", "op": "bogus"}}"#, .invalidBody, "filter.op must be one of"),
        (#"{"filter": {"attribute": "a", "op": "exists"}, "limit": 5, "limit": 6}"#, .invalidBody, "limit appears more than once"),
    ])
    func rejectsBadBodies(_ text: String, _ code: TesseraError.Code, _ expected: String) throws {
        let error = try queryError(text)
        #expect(error.code == code)
        #expect(error.detail.contains(expected), "\(error.detail)")
    }

    @Test func refusesASeriesCursorForEntityPages() throws {
        let error = try queryError(#"{"filter": {"attribute": "a", "op": "exists"}, "cursor": "\#(Cursor.encode(timeMicros: 42))"}"#)
        #expect(error.code == .invalidParameter)
    }
}

@Suite struct CursorTests {
    @Test(arguments: [Int64(0), 1, 42, 1_234_567_890_123, .max])
    func entityCursorsRoundTrip(_ id: Int64) throws {
        let text = Cursor.encode(entityID: id)
        #expect(!text.contains(where: { "=+/".contains($0) }))
        #expect(try Cursor.decodeEntityID(text) == id)
    }

    @Test func isUnpaddedBase64URL() {
        #expect(Cursor.encode(entityID: 42) == "ZTo0Mg")
        #expect(Cursor.encode(timeMicros: -5) == "dDotNQ")
        #expect(Cursor.encode(timeMicros: 1_762_000_000_000_000) == "dDoxNzYyMDAwMDAwMDAwMDAw")
    }

    @Test(arguments: [
        "",
        "ZTo0Mg==",  // padded
        "ZTo0M",  // impossible length
        "ZTo0Mh",  // stray bits in the last character
        "ZTo0M!",
        "ZTo0Mg ",
        "e:42",  // not encoded
        "ZTotMQ",  // e:-1
        "ZTowNDI",  // e:042
        "ZTorNDI",  // e:+42
        "eDo0Mg",  // x:42
        "ZTo",  // e:
        String(repeating: "A", count: 200),
    ])
    func rejectsCursorsItDidNotIssue(_ text: String) throws {
        let error = try #require(throws: TesseraError.self) { try Cursor.decodeEntityID(text) }
        #expect(error.code == .invalidParameter)
        #expect(error.detail.contains("cursor is not one this server issued"))
    }

    @Test func cursorKindsDoNotMix() {
        #expect(throws: TesseraError.self) { try Cursor.decodeTime(Cursor.encode(entityID: 7)) }
        #expect(throws: TesseraError.self) { try Cursor.decodeEntityID(Cursor.encode(timeMicros: 7)) }
    }
}

@Suite struct ConsistencyTests {
    @Test func parsesIgnoringCase() throws {
        #expect(try Consistency.parse(nil) == nil)
        #expect(try Consistency.parse("strong") == .strong)
        #expect(try Consistency.parse("EVENTUAL") == .eventual)
        #expect(try Consistency.parse("Analytics") == .analytics)
    }

    @Test(arguments: ["", "fast", "strong ", "weak\u{0}"])
    func rejectsUnknownValues(_ text: String) throws {
        let error = try #require(throws: TesseraError.self) { try Consistency.parse(text) }
        #expect(error.code == .invalidParameter)
        #expect(error.detail.contains("consistency must be one of strong, eventual, analytics"))
        #expect(!error.detail.unicodeScalars.contains(where: NameRules.isForbidden))
    }
}
