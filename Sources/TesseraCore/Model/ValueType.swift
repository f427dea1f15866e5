/// The type of an attribute's values. Fixed when the attribute is created.
///
/// `decimal` values are IEEE 754 doubles (what InfluxDB calls a float); `timestamp`
/// values are instants with microsecond precision, as PostgreSQL keeps them.
package enum ValueType: String, Sendable, Codable, CaseIterable, Hashable {
    case int
    case decimal
    case text
    case bool
    case timestamp
    case json

    /// The column of `entity_values_ts` that holds values of this type.
    package var column: String {
        switch self {
        case .int: "value_int"
        case .decimal: "value_decimal"
        case .text: "value_text"
        case .bool: "value_bool"
        case .timestamp: "value_ts"
        case .json: "value_json"
        }
    }

    /// Parses a type name as clients send it, or throws `unknown_value_type`.
    package init(parsing name: String) throws(TesseraError) {
        guard let type = ValueType(rawValue: name) else {
            let known = ValueType.allCases.map(\.rawValue).joined(separator: ", ")
            throw TesseraError(
                .unknownValueType,
                "Unknown value type '\(NameRules.printable(name))'; expected one of: \(known)."
            )
        }
        self = type
    }
}
