/// A value of a point, typed. Each case maps to one typed column of the time series.
package enum PointValue: Sendable, Equatable {
    case int(Int64)
    /// Always finite: NaN and ±Infinity are rejected at the edge.
    case decimal(Double)
    case text(String)
    case bool(Bool)
    /// Microseconds since 1970 (PostgreSQL's resolution).
    case timestamp(Int64)
    /// Compact JSON text.
    case json(String)

    package var type: ValueType {
        switch self {
        case .int: .int
        case .decimal: .decimal
        case .text: .text
        case .bool: .bool
        case .timestamp: .timestamp
        case .json: .json
        }
    }

    /// Bytes this value holds in memory, roughly; for queue accounting.
    package var approximateBytes: Int {
        switch self {
        case .text(let text), .json(let text): 16 + text.utf8.count
        default: 16
        }
    }
}
