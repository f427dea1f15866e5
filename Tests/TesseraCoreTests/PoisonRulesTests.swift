import TesseraCore
import Testing

/// The edge rules that keep a value PostgreSQL would refuse later (or a number that
/// would trap the server) out of the write path; no server needed.
@Suite struct PoisonRulesTests {
    @Test(arguments: [Int64.min, Int64.min + 1, -1, 0, 1, Int64.max])
    func anyInstantFormatsWithoutTrapping(_ micros: Int64) {
        #expect(!Timestamps.format(micros: micros).isEmpty)
    }

    @Test func floorDivisionRoundsDownAtBothEnds() {
        #expect(Timestamps.floorDivide(-1, 1_000) == -1)
        #expect(Timestamps.floorDivide(-1_000, 1_000) == -1)
        #expect(Timestamps.floorDivide(999, 1_000) == 0)
        #expect(Timestamps.floorDivide(Int64.min, 1_000) == Int64.min / 1_000 - 1)
        #expect(Timestamps.floorDivide(Int64.max, 1_000) == Int64.max / 1_000)
    }

    @Test func decimalsAreBoundedSoSumsCannotOverflow() throws {
        let rules = ValueRules()
        #expect(try rules.coerce(.json(.number(literal: "1e250", isInteger: false)), to: .decimal, attribute: "d") == .decimal(1e250))
        for literal in ["1e308", "-1.7976931348623157e308", "1e251"] {
            let error = try #require(throws: TesseraError.self) {
                try rules.coerce(.json(.number(literal: literal, isInteger: false)), to: .decimal, attribute: "d")
            }
            #expect(error.code == .invalidValue)
        }
        #expect(throws: TesseraError.self) { try rules.coerce(.lineProtocol(.float(1e300)), to: .decimal, attribute: "d") }
    }

    @Test func timestampValuesStayInYearsOneToNineThousandNineHundredNinetyNine() throws {
        let rules = ValueRules()
        #expect(try rules.coerce(.json(.string("0001-01-01T00:00:00Z")), to: .timestamp, attribute: "t") == .timestamp(-62_135_596_800_000_000))
        for text in ["0000-06-01T00:00:00Z", "0001-01-01T00:00:00+01:00"] {
            #expect(throws: TesseraError.self) { try rules.coerce(.json(.string(text)), to: .timestamp, attribute: "t") }
        }
        for millis in ["-9223372036854000", "-62135596800001", "253402300800000", "9223372036854775807"] {
            #expect(throws: TesseraError.self) { try rules.coerce(.json(.number(literal: millis, isInteger: true)), to: .timestamp, attribute: "t") }
        }
    }

    @Test func jsonValuesAreCheckedAsJsonbHoldsAndPrintsThem() throws {
        let rules = ValueRules()
        func coerce(_ text: String) throws -> PointValue {
            try rules.coerce(.json(try JSONReader.parse(Array(text.utf8))), to: .json, attribute: "j")
        }
        #expect(try coerce(#"{"a":[1.5e10,"x"]}"#) == .json(#"{"a":[1.5e10,"x"]}"#))
        for poison in [#"{"a":"x\u0000y"}"#, #"{"k\u0000":1}"#, #"["\u0000"]"#, "[1e200000]", "[1e-16384]", "[0e-20000]", "[1e131000]"] {
            let error = try #require(throws: TesseraError.self, "\(poison)") { try coerce(poison) }
            #expect(error.code == .invalidValue, "\(poison)")
        }
        // Small to write, large to read back: 1e300 prints as 301 digits.
        let wide = "[" + Array(repeating: "1e300", count: 300).joined(separator: ",") + "]"
        #expect(throws: TesseraError.self) { try coerce(wide) }
    }

    @Test func numbersJsonbCannotHoldAreSpottedBeforePostgreSQLSeesThem() {
        #expect(JSONNumberText.fitsJSONB("1e131071"))
        #expect(!JSONNumberText.fitsJSONB("1e131073"))
        #expect(JSONNumberText.fitsJSONB("1e-16383"))
        #expect(!JSONNumberText.fitsJSONB("1e-16384"))
        #expect(!JSONNumberText.fitsJSONB("0." + String(repeating: "1", count: 16_384)))
        #expect(JSONNumberText.printedLength("1e300") >= 301)
    }
}

@Suite struct ExactKeyUnitTests {
    @Test func canonicallyEquivalentSpellingsAreDifferentKeys() {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        #expect(nfc == nfd)  // Swift's String equality
        #expect(ExactKey(nfc) != ExactKey(nfd))
        #expect(Set([ExactKey(nfc), ExactKey(nfd)]).count == 2)
        #expect(ExactKey(nfc) == ExactKey("caf\u{E9}"))
    }
}
