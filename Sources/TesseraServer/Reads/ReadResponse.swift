import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCache
import TesseraCore
import TesseraRouting

/// A read's JSON answer: the document plus `meta: {source, lag_ms, consistency}`,
/// and the same facts in `X-Tessera-Source` / `X-Tessera-Lag-Ms`.
enum ReadResponse {
    static func make<Value>(_ members: [(String, JSONValue)], served: ReadRouter.Served<Value>) -> Response {
        Self.timed(Self.make(members, source: served.source), served: served)
    }

    /// A document written as bytes (a series page: thousands of points without a tree of
    /// values), a JSON object to which `meta` is added.
    static func make<Value>(document: [UInt8], served: ReadRouter.Served<Value>) -> Response {
        var body = document
        if body.last == UInt8(ascii: "}") { body.removeLast() }
        body.append(contentsOf: #","meta":"#.utf8)
        Self.meta(served.source).write(to: &body)
        body.append(UInt8(ascii: "}"))
        return Self.timed(Self.response(body, source: served.source), served: served)
    }

    private static func timed<Value>(_ response: Response, served: ReadRouter.Served<Value>) -> Response {
        var response = response
        let time = served.databaseTime.components
        let milliseconds = Double(time.seconds) * 1_000 + Double(time.attoseconds) / 1e15
        response.headers[Self.serverTimingHeader] = "db;dur=" + String(format: "%.3f", milliseconds)
        return response
    }

    static let serverTimingHeader = HTTPField.Name("Server-Timing")!

    static func make(_ members: [(String, JSONValue)], source: ReadSource) -> Response {
        Self.response(JSONValue.object(members + [("meta", Self.meta(source))]).jsonBytes, source: source)
    }

    private static func meta(_ source: ReadSource) -> JSONValue {
        let lag = Int(source.lagMilliseconds.rounded())
        return .object([
            ("source", .string(source.source)),
            ("lag_ms", .number(literal: String(lag), isInteger: true)),
            ("consistency", .string(source.consistency.rawValue)),
        ])
    }

    private static func response(_ body: [UInt8], source: ReadSource) -> Response {
        var headers = Self.sourceHeaders(source)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// An answer from the cache: the stored document with `meta` added.
    static func cached(_ hit: ReadCache.Hit, consistency: Consistency) -> Response {
        let source = ReadSource(source: "cache", role: nil, lagMilliseconds: Double(hit.lagMilliseconds), consistency: consistency)
        var body = hit.document
        // The document is a JSON object: its closing brace makes way for `meta`.
        if body.readableBytes > 2, body.getInteger(at: body.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "}") {
            body.moveWriterIndex(to: body.writerIndex - 1)
            body.writeString(#","meta":{"source":"cache","lag_ms":\#(hit.lagMilliseconds),"consistency":"\#(consistency.rawValue)"}}"#)
        }
        var headers = Self.sourceHeaders(source)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// `X-Tessera-Source` and `X-Tessera-Lag-Ms`, also on a read's 404.
    static func sourceHeaders(_ source: ReadSource) -> HTTPFields {
        var headers = HTTPFields()
        headers[ReadOptions.sourceHeader] = source.source
        headers[ReadOptions.lagHeader] = String(Int(source.lagMilliseconds.rounded()))
        return headers
    }

    /// The 404 of a read that found nothing, saying where it looked.
    static func notFound(_ detail: String, source: ReadSource) -> Problem {
        Problem(TesseraError(.notFound, detail), headers: Self.sourceHeaders(source))
    }
}

extension JSONValue {
    static func integer(_ value: some BinaryInteger) -> JSONValue {
        .number(literal: String(value), isInteger: true)
    }

    static func time(_ micros: Int64) -> JSONValue {
        .string(Timestamps.format(micros: micros))
    }

    static func optionalString(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }
}
