import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore
import TesseraRouting

/// A read's JSON answer: the document plus `meta: {source, lag_ms, consistency}`,
/// and the same facts in `X-Tessera-Source` / `X-Tessera-Lag-Ms`.
enum ReadResponse {
    static func make(_ members: [(String, JSONValue)], source: ReadSource) -> Response {
        let lag = Int(source.lagMilliseconds.rounded())
        let meta = JSONValue.object([
            ("source", .string(source.source)),
            ("lag_ms", .number(literal: String(lag), isInteger: true)),
            ("consistency", .string(source.consistency.rawValue)),
        ])
        let body = JSONValue.object(members + [("meta", meta)]).jsonText
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[ReadOptions.sourceHeader] = source.source
        headers[ReadOptions.lagHeader] = String(lag)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
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
