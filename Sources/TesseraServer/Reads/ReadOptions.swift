import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraRouting

/// The consistency a read asks for (`?consistency=` or `X-Consistency`) and the
/// commit position it must see (`?min_lsn=` or `X-Tessera-Commit-LSN`).
struct ReadOptions: Sendable {
    var consistency: Consistency
    var minimum: LogSequenceNumber?

    static let consistencyHeader = HTTPField.Name("X-Consistency")!
    static let commitPositionHeader = HTTPField.Name("X-Tessera-Commit-LSN")!
    static let sourceHeader = HTTPField.Name("X-Tessera-Source")!
    static let lagHeader = HTTPField.Name("X-Tessera-Lag-Ms")!

    static func parse(_ request: Request, default fallback: Consistency) throws(TesseraError) -> ReadOptions {
        let parameters = request.uri.queryParameters
        let consistencyText = parameters.get("consistency") ?? request.headers[Self.consistencyHeader]
        let consistency = try Consistency.parse(consistencyText) ?? fallback
        var minimum: LogSequenceNumber?
        if let text = parameters.get("min_lsn") ?? request.headers[Self.commitPositionHeader] {
            guard let position = LogSequenceNumber(text) else {
                throw TesseraError(
                    .invalidParameter,
                    "min_lsn must be a commit position like 0/16B3748 (as X-Tessera-Commit-LSN gave it), not '\(NameRules.printable(text))'."
                )
            }
            minimum = position
        }
        return ReadOptions(consistency: consistency, minimum: minimum)
    }
}
