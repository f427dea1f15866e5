/// One JSON point, `{"entity": "dev-1", "attribute": "temp", "value": 21.5, "ts": "…"}`,
/// into an `IncomingPoint`. `ts` is optional: RFC 3339 text or epoch milliseconds.
package enum JSONPointDecoder {
    package static func decode(_ bytes: some Collection<UInt8>, index: Int) throws(TesseraError) -> IncomingPoint {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw TesseraError(.invalidPoint, "Point \(index) is not valid JSON: \(error.message) at byte \(error.offset).", index: index)
        }
        return try self.decode(value, index: index)
    }

    package static func decode(_ value: JSONValue, index: Int) throws(TesseraError) -> IncomingPoint {
        guard case .object = value else {
            throw TesseraError(.invalidPoint, "Point \(index) must be a JSON object.", index: index)
        }
        guard case .string(let entity)? = value["entity"] else {
            throw TesseraError(.invalidPoint, "Point \(index) needs \"entity\", the entity's key, as a string.", index: index)
        }
        guard case .string(let attribute)? = value["attribute"] else {
            throw TesseraError(.invalidPoint, "Point \(index) needs \"attribute\", the attribute's name, as a string.", index: index)
        }
        guard let pointValue = value["value"] else {
            throw TesseraError(.invalidPoint, "Point \(index) needs a \"value\".", index: index)
        }
        var timestamp: Int64?
        switch value["ts"] {
        case nil, .null?:
            timestamp = nil
        case .string(let text)?:
            guard let micros = Timestamps.parseRFC3339(text) else {
                throw TesseraError(.invalidTimestamp, "Point \(index): \"ts\" is not an RFC 3339 timestamp such as 2026-11-25T10:00:00.123Z.", index: index)
            }
            timestamp = micros
        case .number(let literal, _)?:
            guard let micros = ValueRules.epochMillisToMicros(literal) else {
                throw TesseraError(.invalidTimestamp, "Point \(index): \"ts\" \(literal) is not a time in epoch milliseconds.", index: index)
            }
            timestamp = micros
        default:
            throw TesseraError(.invalidTimestamp, "Point \(index): \"ts\" must be RFC 3339 text or epoch milliseconds.", index: index)
        }
        return IncomingPoint(entityKey: entity, attribute: attribute, value: .json(pointValue), timestamp: timestamp, index: index)
    }
}
