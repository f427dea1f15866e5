/// What PostgreSQL's `jsonb` makes of a JSON number literal: it holds it as `numeric`,
/// which takes at most 131,072 digits before the point and 16,383 after, and prints it
/// in plain notation (`1e300` reads back as 301 digits).
package enum JSONNumberText {
    /// The literal's digits before and after the point and its exponent (saturated).
    struct Shape {
        var integerDigits = 0
        var fractionDigits = 0
        var exponent = 0
    }

    static func shape(of literal: String) -> Shape {
        var shape = Shape()
        var part = 0  // 0: integer digits, 1: fraction digits, 2: exponent
        var exponent = 0
        var exponentSign = 1
        for byte in literal.utf8 {
            switch byte {
            case UInt8(ascii: "."): part = 1
            case UInt8(ascii: "e"), UInt8(ascii: "E"): part = 2
            case UInt8(ascii: "-"): if part == 2 { exponentSign = -1 }
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                switch part {
                case 0: shape.integerDigits += 1
                case 1: shape.fractionDigits += 1
                default: exponent = min(exponent * 10 + Int(byte - UInt8(ascii: "0")), 10_000_000)
                }
            default: break
            }
        }
        shape.exponent = exponentSign * exponent
        return shape
    }

    /// Whether `jsonb` can hold the number (else PostgreSQL refuses it with 22003).
    package static func fitsJSONB(_ literal: String) -> Bool {
        let shape = self.shape(of: literal)
        return shape.integerDigits + shape.exponent <= 131_072 && shape.fractionDigits - shape.exponent <= 16_383
    }

    /// An upper bound of the number's length as `jsonb` prints it: sign, integer
    /// digits, point, fraction digits, and the zeros the exponent adds.
    package static func printedLength(_ literal: String) -> Int {
        let shape = self.shape(of: literal)
        return 2 + shape.integerDigits + shape.fractionDigits + abs(shape.exponent) + 1
    }
}
