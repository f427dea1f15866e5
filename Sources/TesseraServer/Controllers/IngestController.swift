import HTTPTypes
import Hummingbird
import PostgresNIO
import TesseraCore
import TesseraStore

/// `POST /v1/ingest`: points as JSON, NDJSON or InfluxDB line protocol, by Content-Type.
/// `?durability=safe` waits for a synchronous commit into the time series.
struct IngestController {
    let services: IngestServices
    /// For the commit position of `safe` writes.
    let primary: PostgresClient

    struct Result: ResponseEncodable {
        var accepted: Int
        /// Of `accepted`: points the database refused, kept in quarantine for an operator.
        var quarantined: Int
        var rejected: [Rejection]
        var rejectedCount: Int
        var durability: String

        enum CodingKeys: String, CodingKey {
            case accepted, quarantined, rejected, durability
            case rejectedCount = "rejected_count"
        }
    }

    struct Rejection: Codable {
        var index: Int
        var code: String
        var detail: String
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.ingest)
    }

    @Sendable func ingest(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let durability = try Self.durability(request)
        let format = try Self.format(request)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.services.maxBodyBytes {
            throw TesseraError(.bodyTooLarge, "The body is \(length) bytes; an ingest request may carry at most \(self.services.maxBodyBytes).")
        }
        var session = IngestSession(tenant: tenant, durability: durability, services: self.services)
        try session.precheck()
        do {
            try await BodyPointReader.read(request.body, format: format, maxBytes: self.services.maxBodyBytes, into: &session)
            try await session.finish()
        } catch let error as TesseraError where session.progress != nil {
            // Part of the body was stored before it failed (broken further on, too large,
            // or refused for room): say exactly which part.
            throw Problem(error, instance: request.uri.path, rejected: session.rejected, partial: session.progress)
        }
        let rejected = session.rejected.map { Rejection(index: $0.index, code: $0.code, detail: $0.detail) }
        if session.accepted == 0 && session.rejectedCount > 0 {
            let first = session.rejected[0]
            throw Problem(
                TesseraError(.noValidPoints, "None of the \(session.rejectedCount) points was accepted; the first problem, at \(first.index): \(first.detail)"),
                instance: request.uri.path,
                rejected: session.rejected
            )
        }
        let result = Result(
            accepted: session.accepted,
            quarantined: session.quarantined,
            rejected: rejected,
            rejectedCount: session.rejectedCount,
            durability: durability.rawValue
        )
        var response = try result.response(from: request, context: context)
        // Safe points are in the time series and the projection now: their position
        // lets the writer read them back from a replica that has replayed it.
        if durability == .safe, let position = try? await CommitPosition.current(self.primary, logger: context.logger) {
            response.headers[ReadOptions.commitPositionHeader] = position
        }
        return response
    }

    static func durability(_ request: Request) throws(TesseraError) -> IngestSession.Durability {
        guard let value = request.uri.queryParameters.get("durability") else { return .fast }
        guard let durability = IngestSession.Durability(rawValue: value) else {
            throw TesseraError(.invalidParameter, "durability must be fast or safe, not '\(NameRules.printable(value))'.")
        }
        return durability
    }

    static func format(_ request: Request) throws(TesseraError) -> BodyPointReader.Format {
        let contentType = request.headers[.contentType] ?? "application/json"
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "application/json":
            return .json
        case "application/x-ndjson", "application/ndjson", "application/jsonlines", "application/x-jsonlines":
            return .ndjson
        case "text/plain":
            return .lineProtocol(try Self.precision(request))
        default:
            throw TesseraError(
                .unsupportedMediaType,
                "Send points as application/json, application/x-ndjson or text/plain (InfluxDB line protocol), not \(NameRules.printable(mediaType))."
            )
        }
    }

    static func precision(_ request: Request) throws(TesseraError) -> LineProtocolPrecision {
        guard let value = request.uri.queryParameters.get("precision"), !value.isEmpty else { return .nanoseconds }
        guard let precision = LineProtocolPrecision(parameter: value) else {
            throw TesseraError(.invalidParameter, "precision must be one of ns, u, ms, s, m, h; not '\(NameRules.printable(value))'.")
        }
        return precision
    }
}
