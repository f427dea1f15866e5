import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore

/// Reads a bounded JSON request body and decodes it, with errors a client can act on.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer = try await Self.bytes(from: request, limit: limit)
        do {
            return try JSONCoding.decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw Self.clientError(for: error)
        } catch let error as TesseraError {
            throw error
        }
    }

    /// The body as a `JSONValue` (for bodies with a free shape, such as filters).
    static func value(from request: Request, limit: Int) async throws -> JSONValue {
        let buffer = try await Self.bytes(from: request, limit: limit)
        do {
            return try JSONReader.parse(buffer.readableBytesView)
        } catch {
            throw TesseraError(.invalidJSON, "The body is not valid JSON: \(error.message) at byte \(error.offset).")
        }
    }

    /// The body's bytes: a JSON media type, at most `limit` bytes, not empty.
    static func bytes(from request: Request, limit: Int) async throws -> ByteBuffer {
        if let contentType = request.headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                throw TesseraError(
                    .unsupportedMediaType,
                    "This endpoint takes application/json, not \(NameRules.printable(mediaType))."
                )
            }
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw TesseraError(.bodyTooLarge, "The body is \(length) bytes; this endpoint accepts at most \(limit).")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw TesseraError(.bodyTooLarge, "The body is larger than the \(limit) bytes this endpoint accepts.")
        }
        if buffer.readableBytes == 0 {
            throw TesseraError(.invalidJSON, "The body is empty; send a JSON object.")
        }
        return buffer
    }

    static func clientError(for error: DecodingError) -> TesseraError {
        func field(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the body" : "'" + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return TesseraError(.invalidBody, "\(field(context.codingPath).capitalizedFirst) must be \(Self.describe(type)).")
        case .valueNotFound(let type, let context):
            return TesseraError(.invalidBody, "\(field(context.codingPath).capitalizedFirst) must be \(Self.describe(type)), not null.")
        case .keyNotFound(let key, let context):
            return TesseraError(.invalidBody, "Field \(field(context.codingPath + [key])) is required.")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return TesseraError(.invalidJSON, "The body is not valid JSON.")
            }
            return TesseraError(.invalidBody, "\(field(context.codingPath).capitalizedFirst) is not valid: \(context.debugDescription)")
        @unknown default:
            return TesseraError(.invalidBody, "The body does not have the expected shape.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        default: "an object of the documented shape"
        }
    }
}

extension String {
    var capitalizedFirst: String { self.prefix(1).uppercased() + self.dropFirst() }
}
