/// The width of an aggregate's time buckets: `<positive integer><s|m|h|d>`, like
/// `30s`, `5m`, `1h` or `7d`; from 1 second to 366 days.
package struct TimeBucket: Sendable, Equatable {
    package var micros: Int64
    /// The bucket as the client wrote it.
    package var text: String

    package static let minMicros: Int64 = 1_000_000
    package static let maxMicros: Int64 = 366 * 86_400 * 1_000_000

    package static func parse(_ text: String) throws(TesseraError) -> TimeBucket {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, let unit = bytes.last, let unitMicros = self.unitMicros(unit) else {
            throw self.malformed(text)
        }
        let digits = bytes.dropLast()
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            digits.first != UInt8(ascii: "0") || digits.count == 1
        else { throw self.malformed(text) }

        var count: Int64 = 0
        var tooLong = false
        for digit in digits {
            let (shifted, overflow1) = count.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                tooLong = true
                break
            }
            count = sum
        }
        let (micros, overflow) = count.multipliedReportingOverflow(by: unitMicros)
        if tooLong || overflow || micros > self.maxMicros {
            throw TesseraError(.invalidBody, "bucket \(NameRules.printable(text, limit: 32)) is longer than 366d, the longest bucket.")
        }
        if micros < self.minMicros {
            throw TesseraError(.invalidBody, "bucket \(text) is shorter than 1s, the shortest bucket.")
        }
        return TimeBucket(micros: micros, text: text)
    }

    private static func unitMicros(_ unit: UInt8) -> Int64? {
        switch unit {
        case UInt8(ascii: "s"): 1_000_000
        case UInt8(ascii: "m"): 60_000_000
        case UInt8(ascii: "h"): 3_600_000_000
        case UInt8(ascii: "d"): 86_400_000_000
        default: nil
        }
    }

    private static func malformed(_ text: String) -> TesseraError {
        TesseraError(
            .invalidBody,
            "bucket must look like 1m, 1h or 1d: a whole number followed by s, m, h or d; "
                + "got \"\(NameRules.printable(text, limit: 32))\"."
        )
    }
}
