import TesseraCore
import Testing

@Suite struct JSONWriterTests {
    @Test func escapesQuotesBackslashesAndControlCharactersOnly() throws {
        let text = "a\"b\\c\nd\re\tf\u{01}g\u{1F}h é 😀 \u{7F}"
        let written = JSONValue.string(text).jsonText
        #expect(written == #""a\"b\\c\nd\re\tf\u0001g\u001fh é 😀 \#u{7F}""#)
        #expect(try JSONReader.parse(Array(written.utf8)) == .string(text))
    }

    @Test func writesNestedValuesCompactly() {
        let value = JSONValue.object([
            ("n", .number(literal: "-1.5e3", isInteger: false)),
            ("list", .array([.null, .bool(true), .bool(false), .string("")])),
            ("empty", .object([])),
        ])
        #expect(value.jsonText == #"{"n":-1.5e3,"list":[null,true,false,""],"empty":{}}"#)
        #expect(value.jsonBytes == Array(value.jsonText.utf8))
    }

    @Test func formatsTimestampsWithMicroseconds() {
        #expect(Timestamps.format(micros: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamps.format(micros: 1_793_491_200_001_500) == "2026-11-01T00:00:00.001500Z")
        #expect(Timestamps.format(micros: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamps.format(micros: 253_402_300_799_999_999) == "9999-12-31T23:59:59.999999Z")
        for micros: Int64 in [0, -1, 951_782_400_123_456, 1_793_491_200_001_500, -62_135_596_800_000_000] {
            #expect(Timestamps.parseRFC3339(Timestamps.format(micros: micros)) == micros)
        }
    }
}
