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
