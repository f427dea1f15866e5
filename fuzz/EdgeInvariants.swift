// Compiled with TesseraCore's sources into each fuzzer (fuzz/run.sh): what the edge
// does with a point a client sent, and the promises it makes about what it accepts.
// A broken promise, like any Swift runtime trap, is a crash libFuzzer reports.

/// Runs a point through the edge as the resolver does (names, the type its first value
/// gives, the value's rules, its time) and checks that whatever is accepted is a value
/// PostgreSQL stores and computes with (DESIGN.md, "Types").
func checkAtTheEdge(_ point: IncomingPoint, rules: ValueRules = ValueRules()) {
    _ = try? NameRules.validateEntityKey(point.entityKey)
    _ = try? NameRules.validateAttributeName(point.attribute)
    if let time = point.timestamp { _ = Timestamps.format(micros: time) }
    for type in ValueType.allCases {
        guard let value = try? rules.coerce(point.value, to: type, attribute: point.attribute) else { continue }
        switch value {
        case .decimal(let double):
            precondition(double.isFinite && abs(double) <= ValueRules.maxDecimalMagnitude, "decimal \(double) accepted")
        case .text(let text):
            precondition(!text.utf8.contains(0) && text.utf8.count <= rules.maxTextBytes, "text accepted with NUL or too long")
        case .timestamp(let micros):
            precondition(Timestamps.valueRange.contains(micros), "timestamp \(micros) accepted")
            _ = Timestamps.format(micros: micros)
        case .json(let text):
            precondition(text.utf8.count <= rules.maxJSONBytes, "JSON value too long accepted")
            guard let parsed = try? JSONReader.parse(Array(text.utf8)) else { preconditionFailure("accepted JSON does not parse again") }
            precondition((try? rules.coerce(.json(parsed), to: .json, attribute: "j")) != nil, "accepted JSON is refused the second time")
        case .int, .bool:
            break
        }
    }
}
