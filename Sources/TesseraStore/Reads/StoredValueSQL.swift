import TesseraCore

/// SQL fragments that turn a time-series row's typed value columns into JSON.
enum StoredValueSQL {
    /// A `timestamptz` as the text `Timestamps.format` writes (UTC, microseconds, `Z`):
    /// `to_jsonb` of a timestamptz writes the session's offset instead (`+00:00`).
    /// Migration 0006 writes projection values with the same expression.
    static func utcText(_ column: String) -> String {
        #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
    }

    /// The next six cells of a row, the typed value columns in the order of
    /// `entity_values_ts` (int, decimal, text, bool, timestamp as µs, json as text), as JSON.
    static func value(_ cells: inout RowCells) throws -> JSONValue {
        try Self.value(
            int: try cells.next(Int64?.self),
            decimal: try cells.next(Double?.self),
            text: try cells.next(String?.self),
            bool: try cells.next(Bool?.self),
            timestamp: try cells.next(Int64?.self),
            json: try cells.next(String?.self)
        )
    }

    /// The value column(s) a read selects for values of `type`: its own column when the type is
    /// known (a series is of one attribute), else the six columns `value(_:)` reads.
    static func columns(for type: ValueType?) -> String {
        switch type {
        case .json: "value_json::text"
        case let type?: type.column
        case nil:
            "value_int, value_decimal, value_text, value_bool, (extract(epoch FROM value_ts) * 1000000)::bigint, value_json::text"
        }
    }

    /// The next cell(s) of a row as `columns(for: type)` selected them, as JSON.
    static func value(_ cells: inout RowCells, type: ValueType?) throws -> JSONValue {
        switch type {
        case .int: try Self.value(int: cells.next(Int64?.self), decimal: nil, text: nil, bool: nil, timestamp: nil, json: nil)
        case .decimal: try Self.value(int: nil, decimal: cells.next(Double?.self), text: nil, bool: nil, timestamp: nil, json: nil)
        case .text: try Self.value(int: nil, decimal: nil, text: cells.next(String?.self), bool: nil, timestamp: nil, json: nil)
        case .bool: try Self.value(int: nil, decimal: nil, text: nil, bool: cells.next(Bool?.self), timestamp: nil, json: nil)
        case .timestamp:
            try Self.value(int: nil, decimal: nil, text: nil, bool: nil, timestamp: cells.next(PostgresTimestamp?.self)?.micros, json: nil)
        case .json: try Self.value(int: nil, decimal: nil, text: nil, bool: nil, timestamp: nil, json: cells.next(String?.self))
        case nil: try Self.value(&cells)
        }
    }

    /// The one typed value of a row, as JSON, without a round trip through JSON text
    /// (series pages carry thousands of rows).
    static func value(int: Int64?, decimal: Double?, text: String?, bool: Bool?, timestamp: Int64?, json: String?) throws -> JSONValue {
        if let int { return .number(literal: String(int), isInteger: true) }
        if let decimal { return .number(literal: decimal.description, isInteger: false) }
        if let text { return .string(text) }
        if let bool { return .bool(bool) }
        if let timestamp { return .string(Timestamps.format(micros: timestamp)) }
        if let json { return try JSONReader.parse(Array(json.utf8)) }
        return .null
    }
}
