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
                 WHEN \(p)value_ts IS NOT NULL THEN to_jsonb(\(p)value_ts)
                 ELSE \(p)value_json END
            """
    }
}
