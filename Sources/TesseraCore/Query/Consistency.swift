/// How fresh a read must be: `strong` reads the primary, `eventual` may read the
/// cache or a replica within the lag threshold, `analytics` reads the analytics node.
package enum Consistency: String, Sendable, CaseIterable {
    case strong
    case eventual
    case analytics

    /// Parses a query parameter or header value, ignoring case. nil when there is
    /// no value (the caller picks the default); an unknown value is an error.
    package static func parse(_ text: String?) throws(TesseraError) -> Consistency? {
        guard let text else { return nil }
        guard let consistency = Consistency(rawValue: text.lowercased()) else {
            let known = Consistency.allCases.map(\.rawValue).joined(separator: ", ")
            throw TesseraError(
                .invalidParameter,
                "consistency must be one of \(known); got \"\(NameRules.printable(text, limit: 32))\"."
            )
        }
        return consistency
    }
}
