import TesseraCore

/// SQL fragments that turn a time-series row's typed value columns into JSON.
enum StoredValueSQL {
    /// The row's one value as `jsonb` (columns of `entity_values_ts`, optionally qualified).
    static func json(_ alias: String = "") -> String {
        let p = alias.isEmpty ? "" : alias + "."
        return """
            CASE WHEN \(p)value_int IS NOT NULL THEN to_jsonb(\(p)value_int)
                 WHEN \(p)value_decimal IS NOT NULL THEN to_jsonb(\(p)value_decimal)
                 WHEN \(p)value_text IS NOT NULL THEN to_jsonb(\(p)value_text)
                 WHEN \(p)value_bool IS NOT NULL THEN to_jsonb(\(p)value_bool)
                 WHEN \(p)value_ts IS NOT NULL THEN to_jsonb(\(Self.utcText("\(p)value_ts")))
                 ELSE \(p)value_json END
            """
    }

    /// A `timestamptz` as the text `Timestamps.format` writes (UTC, microseconds, `Z`):
    /// `to_jsonb` of a timestamptz writes the session's offset instead (`+00:00`).
    /// Migration 0006 writes projection values with the same expression.
    static func utcText(_ column: String) -> String {
        #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
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
