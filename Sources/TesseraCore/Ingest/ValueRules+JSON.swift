/// What a `json` value must satisfy to be stored and read back: PostgreSQL's `jsonb`
/// refuses U+0000 in strings and keys, and prints numbers in plain notation
/// (`1e300` is read back as 301 digits), so the limit is on the text as it is read back.
extension ValueRules {
    /// The value's compact text, or a per-point error when `jsonb` could not hold it or
    /// it would be read back larger than `maxJSONBytes`.
    func checkedJSON(_ json: JSONValue) throws(TesseraError) -> String {
        let text = json.jsonBytes
        var printed = text.count
        var hasNUL = false
        var unstorableNumber: String?
        Self.walk(json, printed: &printed, hasNUL: &hasNUL, unstorableNumber: &unstorableNumber)
        guard !hasNUL else {
            throw TesseraError(.invalidValue, "The JSON value contains a NUL character (\\u0000), which cannot be stored.")
        }
        if let unstorableNumber {
            throw TesseraError(
                .invalidValue,
                "The JSON value holds the number \(NameRules.printable(unstorableNumber, limit: 48)), beyond what PostgreSQL's jsonb holds (131072 digits before the point, 16383 after)."
            )
        }
        guard printed <= self.maxJSONBytes else {
            throw TesseraError(
                .invalidValue,
                "The JSON value is \(printed) bytes as it would be read back (numbers in plain notation); the limit is \(self.maxJSONBytes)."
            )
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Adds to `printed` how much longer each number prints than its literal, and notes
    /// any NUL in a string or a key and the first number `jsonb` cannot hold.
    private static func walk(_ value: JSONValue, printed: inout Int, hasNUL: inout Bool, unstorableNumber: inout String?) {
        switch value {
        case .null, .bool: break
        case .number(let literal, _):
            printed += JSONNumberText.printedLength(literal) - literal.utf8.count
            if unstorableNumber == nil, !JSONNumberText.fitsJSONB(literal) { unstorableNumber = literal }
        case .string(let text):
            if text.utf8.contains(0) { hasNUL = true }
        case .array(let values):
            for element in values { self.walk(element, printed: &printed, hasNUL: &hasNUL, unstorableNumber: &unstorableNumber) }
        case .object(let members):
            for (key, element) in members {
                if key.utf8.contains(0) { hasNUL = true }
                self.walk(element, printed: &printed, hasNUL: &hasNUL, unstorableNumber: &unstorableNumber)
            }
        }
    }
}
