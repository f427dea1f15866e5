import TesseraCore
import Testing

@testable import TesseraServer

/// A series page written point by point reads exactly as the value tree it replaced wrote it.
@Suite struct SeriesPageDocumentTests {
    static func tree(_ document: SeriesPageDocument) -> [UInt8] {
        let points = zip(document.times, document.values).map { JSONValue.object([("ts", .time($0)), ("value", $1)]) }
        return JSONValue.object([
            ("entity", .string(document.entity)),
            ("attribute", .string(document.attribute)),
            ("type", .string(document.type.rawValue)),
            ("points", .array(points)),
            ("next_cursor", document.nextCursor.map(JSONValue.string) ?? .null),
        ]).jsonBytes
    }

    @Test func aPageWritesTheBytesOfItsValueTree() throws {
        let pages = [
            SeriesPageDocument(entity: "e", attribute: "a", type: .int, times: [], values: [], nextCursor: nil),
            SeriesPageDocument(
                entity: "air_quality,station=\"Dongsi\"\\\n",
                attribute: "PM2.5 µg/m³",
                type: .decimal,
                times: [0, 1_465_344_000_000_001, -1, 253_402_300_799_999_999],
                values: [
                    .number(literal: "124.0", isInteger: false), .null, .number(literal: "-1e-05", isInteger: false), .number(literal: "0.5", isInteger: false),
                ],
                nextCursor: "c1"
            ),
            SeriesPageDocument(
                entity: "s",
                attribute: "j",
                type: .json,
                times: [1, 2],
                values: [try JSONReader.parse(Array(#"{"k":[1,"\u0001",true]}"#.utf8)), .string("tab\there")],
                nextCursor: nil
            ),
        ]
        for page in pages {
            #expect(String(decoding: page.bytes, as: UTF8.self) == String(decoding: Self.tree(page), as: UTF8.self))
        }
    }
}
