extension Timestamps {
    /// The times a query may name: years 0001 through 9999, what RFC 3339 can write
    /// less year 0, which PostgreSQL refuses (it answered a bound there with an error).
    static let queryRange: Range<Int64> = Timestamps.valueRange

    /// A whole number of epoch milliseconds (`1762000000000`, `-5`) to microseconds;
    /// nil when it is not an integer or falls outside `queryRange`.
    static func queryMicros(epochMillis text: String) -> Int64? {
        guard let millis = Int64(text), String(millis) == text else { return nil }
        let (micros, overflow) = millis.multipliedReportingOverflow(by: 1_000)
        guard !overflow, self.queryRange.contains(micros) else { return nil }
        return micros
    }

    /// RFC 3339 text within `queryRange`; nil otherwise.
    static func queryMicros(rfc3339 text: String) -> Int64? {
        guard let micros = self.parseRFC3339(text), self.queryRange.contains(micros) else { return nil }
        return micros
    }

    /// RFC 3339 text or epoch milliseconds digits, as query parameters carry them; nil otherwise.
    static func queryMicros(parameter text: String) -> Int64? {
        self.queryMicros(rfc3339: text) ?? self.queryMicros(epochMillis: text)
    }
}
