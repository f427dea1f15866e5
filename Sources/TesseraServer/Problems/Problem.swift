import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore

/// An RFC 9457 problem document (`application/problem+json`) for a `TesseraError`.
package struct Problem: HTTPResponseError {
    package var error: TesseraError
    package var instance: String?
    package var headers: HTTPFields
    /// Per-point rejections, for ingest problems.
    package var rejected: [PointRejection]?
    /// InfluxDB clients read the message from an `error` member.
    package var influxError: String?
    /// For an ingest request that failed after some of its points were stored: how many
    /// were, and the position before which every point was either stored or rejected
    /// (and from which none was stored).
    var partial: IngestSession.Progress?

    package init(
        _ error: TesseraError,
        instance: String? = nil,
        headers: HTTPFields = [:],
        rejected: [PointRejection]? = nil,
        influxError: String? = nil
    ) {
        self.error = error
        self.instance = instance
        self.headers = headers
        self.rejected = rejected
        self.influxError = influxError
    }

    init(
        _ error: TesseraError,
        instance: String?,
        headers: HTTPFields = [:],
        rejected: [PointRejection]?,
        influxError: String? = nil,
        partial: IngestSession.Progress?
    ) {
        self.init(error, instance: instance, headers: headers, rejected: rejected, influxError: influxError)
        self.partial = partial
    }

    package var status: HTTPResponse.Status { .init(code: self.error.code.httpStatus) }

    struct Document: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var code: String
        var instance: String?
        var index: Int?
        var line: Int?
        var rejected: [Rejection]?
        var error: String?
        var accepted: Int?
        var storedBefore: Int?

        enum CodingKeys: String, CodingKey {
            case type, title, status, detail, code, instance, index, line, rejected, error, accepted
            case storedBefore = "stored_before"
        }
    }

    struct Rejection: Encodable {
        var index: Int
        var code: String
        var detail: String
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let document = Document(
            type: "urn:tessera:problem:\(self.error.code.rawValue)",
            title: self.error.code.title,
            status: self.error.code.httpStatus,
            detail: self.error.detail,
            code: self.error.code.rawValue,
            instance: self.instance,
            index: self.error.index,
            line: self.error.line,
            rejected: self.rejected?.map { Rejection(index: $0.index, code: $0.code, detail: $0.detail) },
            error: self.influxError,
            accepted: self.partial?.accepted,
            storedBefore: self.partial?.storedBefore
        )
        let data = try JSONCoding.encoder.encode(document)
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        if self.error.code == .rateLimited || self.error.code == .unavailable, headers[.retryAfter] == nil {
            headers[.retryAfter] = String(self.error.retryAfterSeconds ?? 1)
        }
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
