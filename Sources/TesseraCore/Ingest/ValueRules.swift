/// How incoming values become typed values: inference for new attributes, and
/// the checks a value must pass to fit an attribute's type.
package struct ValueRules: Sendable {
    /// Largest text value, in UTF-8 bytes.
    package var maxTextBytes: Int
    /// Largest JSON value, as compact text.
    package var maxJSONBytes: Int

    package init(maxTextBytes: Int = 65_536, maxJSONBytes: Int = 65_536) {
        self.maxTextBytes = maxTextBytes
        self.maxJSONBytes = maxJSONBytes
    }

    /// The type an attribute gets when it is created by its first value. JSON numbers
    /// are `decimal` (as InfluxDB floats; declare an `int` attribute to store integers);
    /// line protocol says its type with a suffix.
    package static func inferType(_ value: IncomingValue) -> ValueType? {
        switch value {
        case .json(.null): return nil
        case .json(.bool): return .bool
        case .json(.number): return .decimal
        case .json(.string): return .text
        case .json(.array), .json(.object): return .json
        case .lineProtocol(.float): return .decimal
        case .lineProtocol(.integer), .lineProtocol(.unsigned): return .int
        case .lineProtocol(.string): return .text
        case .lineProtocol(.boolean): return .bool
        }
    }

    /// The value typed for an attribute of `type`, or a per-point error saying why not.
    package func coerce(_ value: IncomingValue, to type: ValueType, attribute: String) throws(TesseraError) -> PointValue {
        switch (value, type) {
        case (.json(.null), _):
            throw TesseraError(.invalidValue, "null is not a value; leave the point out instead.")

        case (.json(.number(let literal, true)), .int):
            guard let int = Int64(literal) else {
                throw TesseraError(.invalidValue, "\(literal) is outside the 64-bit integer range of attribute '\(Self.name(attribute))'.")
            }
            return .int(int)
        case (.json(.number(let literal, false)), .int):
            guard let double = Double(literal), double.rounded() == double, abs(double) <= 9_007_199_254_740_992 else {
                throw self.mismatch(attribute, type, "\(literal) is not an integer")
            }
            return .int(Int64(double))
        case (.json(.number(let literal, _)), .decimal):
            return .decimal(try self.finite(Double(literal), literal))
        case (.json(.string(let text)), .text), (.lineProtocol(.string(let text)), .text):
            return .text(try self.checkedText(text, limit: self.maxTextBytes, what: "text value"))
        case (.json(.bool(let bool)), .bool), (.lineProtocol(.boolean(let bool)), .bool):
            return .bool(bool)
        case (.json(.string(let text)), .timestamp):
            guard let micros = Timestamps.parseRFC3339(text) else {
                throw self.mismatch(attribute, type, "\"\(Self.name(text))\" is not an RFC 3339 timestamp")
            }
            return .timestamp(try self.storableTime(micros, Self.name(text)))
        case (.json(.number(let literal, _)), .timestamp):
            guard let micros = Self.epochMillisToMicros(literal) else {
                throw self.mismatch(attribute, type, "\(Self.name(literal)) is not a time in epoch milliseconds")
            }
            return .timestamp(try self.storableTime(micros, Self.name(literal)))
        case (.json(let json), .json):
            return .json(try self.checkedJSON(json))

        case (.lineProtocol(.float(let double)), .decimal):
            return .decimal(try self.finite(double, "\(double)"))
        case (.lineProtocol(.integer(let int)), .int):
            return .int(int)
        case (.lineProtocol(.integer(let int)), .decimal):
            return .decimal(Double(int))
        case (.lineProtocol(.unsigned(let unsigned)), .int):
            guard let int = Int64(exactly: unsigned) else {
                throw TesseraError(.invalidValue, "\(unsigned)u is larger than the largest int value (\(Int64.max)).")
            }
            return .int(int)
        case (.lineProtocol(.unsigned(let unsigned)), .decimal):
            return .decimal(Double(unsigned))

        default:
            throw self.mismatch(attribute, type, "a \(Self.describe(value)) value")
        }
    }

    /// Largest magnitude of a `decimal` value. Sums of doubles overflow in PostgreSQL (it
    /// raises an error instead of answering Infinity): at most 1e250, a sum of as many
    /// values as a bigint counts (2^63, far more than any rollup or bucket holds) stays
    /// finite.
    package static let maxDecimalMagnitude = 1e250

    private func finite(_ double: Double?, _ literal: String) throws(TesseraError) -> Double {
        guard let double, double.isFinite else {
            throw TesseraError(.invalidValue, "\(Self.name(literal)) is not a finite number; NaN and ±Infinity cannot be stored.")
        }
        guard abs(double) <= Self.maxDecimalMagnitude else {
            throw TesseraError(
                .invalidValue,
                "\(Self.name(literal)) is larger in magnitude than 1e250, the largest decimal value (sums of larger values overflow)."
            )
        }
        return double
    }

    private func storableTime(_ micros: Int64, _ text: String) throws(TesseraError) -> Int64 {
        guard Timestamps.valueRange.contains(micros) else {
            throw TesseraError(.invalidValue, "\(text) is outside the years 0001–9999 a timestamp value may take.")
        }
        return micros
    }

    private func checkedText(_ text: String, limit: Int, what: String) throws(TesseraError) -> String {
        let bytes = text.utf8.count
        guard bytes <= limit else {
            throw TesseraError(.invalidValue, "The \(what) is \(bytes) bytes; the limit is \(limit).")
        }
        guard !text.utf8.contains(0) else {
            throw TesseraError(.invalidValue, "The \(what) contains a NUL character (U+0000), which cannot be stored.")
        }
        return text
    }

    private func mismatch(_ attribute: String, _ type: ValueType, _ what: String) -> TesseraError {
        TesseraError(.typeMismatch, "Attribute '\(Self.name(attribute))' has type \(type.rawValue); \(what) does not fit it.")
    }

    private static func describe(_ value: IncomingValue) -> String {
        switch value {
        case .json(.bool), .lineProtocol(.boolean): "boolean"
        case .json(.number), .lineProtocol(.float), .lineProtocol(.integer), .lineProtocol(.unsigned): "number"
        case .json(.string), .lineProtocol(.string): "string"
        case .json(.array): "array"
        case .json(.object): "object"
        case .json(.null): "null"
        }
    }

    private static func name(_ text: String) -> String { NameRules.printable(text, limit: 48) }

    /// Epoch milliseconds (an integer or a fraction) to microseconds, within the years
    /// 0001–9999 (`Timestamps.queryRange`); nil otherwise.
    static func epochMillisToMicros(_ literal: String) -> Int64? {
        let micros: Int64
        if let millis = Int64(literal) {
            let (product, overflow) = millis.multipliedReportingOverflow(by: 1_000)
            guard !overflow else { return nil }
            micros = product
        } else {
            guard let millis = Double(literal), millis.isFinite, abs(millis) < 9.2e15 else { return nil }
            micros = Int64((millis * 1_000).rounded())
        }
        return Timestamps.queryRange.contains(micros) ? micros : nil
    }
}
