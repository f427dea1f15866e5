import NIOCore
import PostgresNIO
import TesseraCore
import Testing

@testable import TesseraStore

/// A time bound's binary form, as PostgreSQL stores a `timestamptz`: microseconds since 2000.
@Suite struct PostgresTimestampTests {
    static func encoded(_ micros: Int64) -> Int64? {
        var buffer = ByteBuffer()
        PostgresTimestamp(micros: micros).encode(into: &buffer, context: .default)
        return buffer.readInteger(as: Int64.self)
    }

    static func decoded(_ stored: Int64) throws -> Int64 {
        var buffer = ByteBuffer()
        buffer.writeInteger(stored, as: Int64.self)
        return try PostgresTimestamp(from: &buffer, type: .timestamptz, format: .binary, context: .default).micros
    }

    @Test func timesRoundTripToTheMicrosecondAndNothingTraps() throws {
        let times = ["2000-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2016-06-08T00:00:00.000001Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"]
        for text in times {
            let micros = try #require(Timestamps.parseRFC3339(text))
            let stored = try #require(Self.encoded(micros))
            #expect(try Self.decoded(stored) == micros, "\(text)")
        }
        #expect(Self.encoded(Timestamps.parseRFC3339("2000-01-01T00:00:00.000001Z")!) == 1)
        // Out of range: sent as -infinity, read back refused, never an overflow trap.
        #expect(Self.encoded(Int64.min) == Int64.min)
        #expect(throws: (any Error).self) { try Self.decoded(Int64.max) }
        var text = ByteBuffer(string: "2016-06-08")
        #expect(throws: (any Error).self) { try PostgresTimestamp(from: &text, type: .timestamptz, format: .text, context: .default) }
    }
}
