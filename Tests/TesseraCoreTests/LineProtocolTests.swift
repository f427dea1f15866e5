import Testing

@testable import TesseraCore

/// Parses one line that must be a point.
private func point(_ text: String, _ precision: LineProtocolPrecision = .nanoseconds) throws -> LineProtocolLine {
    let parsed = try LineProtocolParser(precision: precision).parseLine(Array(text.utf8), lineNumber: 7)
    return try #require(parsed)
}

/// The reason part of the error for one line (after `unable to parse '…': `), or nil if it parsed.
private func reason(_ text: String, _ precision: LineProtocolPrecision = .nanoseconds) -> String? {
    do {
        _ = try LineProtocolParser(precision: precision).parseLine(Array(text.utf8), lineNumber: 7)
        return nil
    } catch {
        // The reason follows the last "': " (reasons never contain one).
        let bytes = Array(error.message.utf8)
        var index = bytes.count - 3
        while index >= 0 && !(bytes[index] == UInt8(ascii: "'") && bytes[index + 1] == UInt8(ascii: ":") && bytes[index + 2] == UInt8(ascii: " ")) {
            index -= 1
        }
        return index >= 0 ? String(decoding: bytes[(index + 3)...], as: UTF8.self) : error.message
    }
}

/// The value of the only field of a line.
private func value(_ text: String) throws -> LineProtocolValue {
    let line = try point(text)
    try #require(line.fields.count == 1)
    return line.fields[0].value
}

private typealias LPTag = LineProtocolLine.Tag
private typealias LPField = LineProtocolLine.Field

@Suite struct LineProtocolBasicsTests {
    @Test func parsesAFullLine() throws {
        let line = try point("weather,zone=north,station=Dongsi temp=12.5,hum=45i,ok=t,note=\"fine\",n=7u 1700000000000000000")
        #expect(
            line
                == LineProtocolLine(
                    measurement: "weather",
                    tags: [LPTag(key: "station", value: "Dongsi"), LPTag(key: "zone", value: "north")],
                    fields: [
                        LPField(key: "temp", value: .float(12.5)),
                        LPField(key: "hum", value: .integer(45)),
                        LPField(key: "ok", value: .boolean(true)),
                        LPField(key: "note", value: .string("fine")),
                        LPField(key: "n", value: .unsigned(7)),
                    ],
                    timestamp: 1_700_000_000_000_000_000,
                    lineNumber: 7
                )
        )
        #expect(line.seriesKey == "weather,station=Dongsi,zone=north")
    }

    @Test func timestampIsOptional() throws {
        let line = try point("cpu value=1")
        #expect(line.timestamp == nil)
        #expect(line.tags.isEmpty)
        #expect(line.fields == [LPField(key: "value", value: .float(1))])
    }

    @Test(arguments: ["", " ", "   \t ", "\t", "\u{0}", "# a comment", "   # indented comment", "#", "\r", " \r", "#x=\"y"])
    func blankAndCommentLinesGiveNothing(_ text: String) throws {
        #expect(try LineProtocolParser().parseLine(Array(text.utf8), lineNumber: 1) == nil)
    }

    @Test func whitespaceAroundSectionsFollowsInflux() throws {
        #expect(try point("  cpu value=1").measurement == "cpu")
        #expect(try point("\tcpu value=1").measurement == "cpu")
        #expect(try point("cpu    value=1     1257894000000000000").timestamp == 1_257_894_000_000_000_000)
        #expect(try point("cpu value=1.0 1257894000000000000   ").timestamp == 1_257_894_000_000_000_000)
        #expect(try point("cpu value=1   ").timestamp == nil)
        #expect(try point("cpu value=1 \t 5").timestamp == 5)
        // A tab right after a number is part of the number, as in InfluxDB.
        #expect(reason("cpu value=1\t") == "invalid number")
        #expect(reason("cpu value=1 5\t") == "bad timestamp")
        #expect(reason("cpu value=1 5 6") == "point is invalid")
        #expect(reason("cpu value=1 5 x") == "point is invalid")
    }

    @Test func toleratesOneTrailingCarriageReturn() throws {
        let line = try point("cpu,host=a value=1i 5\r")
        #expect(line.timestamp == 5)
        #expect(line.fields == [LPField(key: "value", value: .integer(1))])
        #expect(try point("cpu s=\"x\"\r").fields == [LPField(key: "s", value: .string("x"))])
        #expect(try point("cpu b=t\r").fields == [LPField(key: "b", value: .boolean(true))])
        #expect(reason("cpu value=1 5\r\r") == "bad timestamp")
    }

    @Test func parseLineAcceptsNonContiguousCollections() throws {
        let bytes = Array("cpu,a=b v=2i 9".utf8).lazy.map { $0 }
        let line = try #require(try LineProtocolParser().parseLine(bytes, lineNumber: 3))
        #expect(line.lineNumber == 3)
        #expect(line.seriesKey == "cpu,a=b")
        #expect(line.timestamp == 9)
    }

    @Test func nulBytesAreDataExceptAtTheStart() throws {
        #expect(try point("cpu,tag\u{0}1=v0 value=1").tags == [LPTag(key: "tag\u{0}1", value: "v0")])
        #expect(try point("cpu,tag0=\u{0},tag1=v0 value=1").tags[0].value == "\u{0}")
        #expect(try point("cpu,tag0=v0 val\u{0}ue=1").fields[0].key == "val\u{0}ue")
        #expect(reason("cpu,tag0=v0 value=\u{0}") == "invalid boolean")
        // The leading NUL is skipped like whitespace, and the message quotes the rest.
        let (_, errors) = LineProtocolParser().parse(Array("\u{0},tag0=v0 value=1".utf8))
        #expect(errors == [LineProtocolError(lineNumber: 1, message: "unable to parse ',tag0=v0 value=1': missing measurement")])
    }
}

@Suite struct LineProtocolEscapingTests {
    @Test func measurementEscapes() throws {
        #expect(try point("cpu\\,x\\ y,t=v f=1").measurement == "cpu,x y")
        #expect(try point("cp=u f=1").measurement == "cp=u")
        #expect(try point("cpu\\=x f=1").measurement == "cpu=x")
        #expect(try point("\"cpu\" f=1").measurement == "\"cpu\"")
        #expect(try point("cpu\\\"x f=1").measurement == "cpu\"x")
        #expect(try point("cpu\\a f=1").measurement == "cpu\\a")
        #expect(try point("measurement=withEq,tag0=v0 value=1").measurement == "measurement=withEq")
        #expect(try point("tag0=v0 value=1").measurement == "tag0=v0")
        #expect(try point("température f=1").measurement == "température")
        // A byte is escaped when the byte before it is a backslash, so `\\ ` still escapes the space.
        #expect(reason("cpu\\\\ f=1") == "missing fields")
        #expect(reason("cpu\\ f=1") == "missing fields")
    }

    @Test func tagKeyAndValueEscapes() throws {
        let line = try point("m,a\\ b=1,c\\,d=2,e\\=f=3 f=1")
        #expect(line.tags == [LPTag(key: "a b", value: "1"), LPTag(key: "c,d", value: "2"), LPTag(key: "e=f", value: "3")])
        #expect(try point("m,t=a\\ b\\,c\\=d f=1").tags == [LPTag(key: "t", value: "a b,c=d")])
        #expect(try point("cpu,tag0=\\, value=1").tags == [LPTag(key: "tag0", value: ",")])
        #expect(try point("cpu,ta\\ g0=\\, value=1").tags == [LPTag(key: "ta g0", value: ",")])
        #expect(try point("cpu,host=serverA,\\ =us-east value=1i").tags == [LPTag(key: " ", value: "us-east"), LPTag(key: "host", value: "serverA")])
        // `\"` is not an escape in tags: the backslash stays; quotes are literal.
        #expect(try point("cpu,tag0=1\\\"\\\",t=k value=1").tags == [LPTag(key: "t", value: "k"), LPTag(key: "tag0", value: "1\\\"\\\"")])
        #expect(try point("cpu,\"host\"=\"serverA\" value=1").tags == [LPTag(key: "\"host\"", value: "\"serverA\"")])
        #expect(try point("m,t=a\\b f=1").tags == [LPTag(key: "t", value: "a\\b")])
        // A tag value may start with '=' (only later unescaped '=' are rejected).
        #expect(try point("m,t==x f=1").tags == [LPTag(key: "t", value: "=x")])
    }

    @Test func fieldKeyEscapes() throws {
        let line = try point("m a\\ b=1,c\\,d=2,e\\=f=3,g\\\"h=4,\"k\"=5,x\\y=6")
        #expect(line.fields.map(\.key) == ["a b", "c,d", "e=f", "g\"h", "\"k\"", "x\\y"])
        #expect(try point("cpu a\\ =123i").fields == [LPField(key: "a ", value: .integer(123))])
    }

    @Test func stringFieldEscapes() throws {
        #expect(try value("m s=\"a\\\"b\"") == .string("a\"b"))
        #expect(try value("m s=\"a\\\\b\"") == .string("a\\b"))
        #expect(try value("m s=\"test\\\\\"") == .string("test\\"))
        #expect(try value("m s=\"test\\\\\\\"\"") == .string("test\\\""))
        #expect(try value("m s=\"a\\nb\"") == .string("a\\nb"))
        #expect(try value("m s=\"x,y z=1\"") == .string("x,y z=1"))
        #expect(try value("m s=\"\"") == .string(""))
        #expect(try value("m s=\"{Hello\\\"{,}\\\" World}\"") == .string("{Hello\"{,}\" World}"))
        #expect(try value("m s=\"foo\\,bar\"") == .string("foo\\,bar"))
        #expect(try value("m s=\"wè\"") == .string("wè"))
        #expect(try value("m s=\"a\nb\"") == .string("a\nb"))
        // InfluxDB 1.x keeps inner quotes when the token ends with a quote (influxdb#9102, #7886).
        #expect(try value("m s=\"a \"b\" c\"") == .string("a \"b\" c"))
        #expect(try value("m s=\"\"x\"\"") == .string("\"x\""))
    }

    @Test func stringsNextToOtherFields() throws {
        let line = try point("cpu,host=serverA str=\"foo\\\\\",str2=\"bar\",v=1 1000000000")
        #expect(
            line.fields == [LPField(key: "str", value: .string("foo\\")), LPField(key: "str2", value: .string("bar")), LPField(key: "v", value: .float(1))]
        )
        #expect(try point("cpu str=\"foo=bar\",value=1.0 1").fields.map(\.value) == [.string("foo=bar"), .float(1)])
    }
}

@Suite struct LineProtocolNumberTests {
    @Test func integerLimits() throws {
        #expect(try value("m v=9223372036854775807i") == .integer(.max))
        #expect(try value("m v=-9223372036854775808i") == .integer(.min))
        #expect(try value("m v=0009223372036854775807i") == .integer(.max))
        #expect(try value("m v=-0009223372036854775808i") == .integer(.min))
        #expect(try value("m v=-0i") == .integer(0))
        #expect(try value("m v=1i") == .integer(1))
        #expect(reason("m v=9223372036854775808i") == "unable to parse integer 9223372036854775808: value out of range")
        #expect(reason("m v=-9223372036854775809i") == "unable to parse integer -9223372036854775809: value out of range")
        #expect(reason("m v=99999999999999999999999i") == "unable to parse integer 99999999999999999999999: value out of range")
    }

    @Test func unsignedLimits() throws {
        #expect(try value("m v=18446744073709551615u") == .unsigned(.max))
        #expect(try value("m v=00018446744073709551615u") == .unsigned(.max))
        #expect(try value("m v=0u") == .unsigned(0))
        #expect(try value("m v=0000u") == .unsigned(0))
        #expect(reason("m v=18446744073709551616u") == "unable to parse unsigned 18446744073709551616: value out of range")
        #expect(reason("m v=-1u") == "invalid number")
        #expect(reason("m v=--1u") == "invalid number")
        #expect(reason("m v=1.0u") == "invalid number")
        #expect(reason("m v=1e3u") == "invalid number")
        #expect(reason("m v=1ui") == "invalid number")
        #expect(reason("m v=1u2") == "invalid number")
    }

    @Test func floatSyntaxInfluxAccepts() throws {
        #expect(try value("m v=1") == .float(1))
        #expect(try value("m v=-1.5") == .float(-1.5))
        #expect(try value("m v=.5") == .float(0.5))
        #expect(try value("m v=-.5") == .float(-0.5))
        #expect(try value("m v=1.") == .float(1))
        #expect(try value("m v=1e4") == .float(10_000))
        #expect(try value("m v=1E4") == .float(10_000))
        #expect(try value("m v=1.0e4") == .float(10_000))
        #expect(try value("m v=1e+4") == .float(10_000))
        #expect(try value("m v=1.e5") == .float(100_000))
        #expect(try value("m v=1.0e-4") == .float(0.0001))
        #expect(try value("m v=-1.0e-4") == .float(-0.0001))
        #expect(try value("m v=6.632243e+06") == .float(6_632_243))
        #expect(try value("m v=-0.64") == .float(-0.64))
        #expect(try value("m v=0.1") == .float(0.1))
        #expect(try value("m v=007") == .float(7))
        #expect(try value("m v=123456789.123456789") == .float(123_456_789.123456789))
        #expect(try value("m v=12345678901234567890123") == .float(12_345_678_901_234_567_890_123.0))
        #expect(try value("m v=1e-400") == .float(0))
        #expect(try value("m v=4.9e-324") == .float(.leastNonzeroMagnitude))
        #expect(try value("m v=2.2250738585072014e-308") == .float(.leastNormalMagnitude))
        #expect(try value("m v=1.7976931348623157e308") == .float(.greatestFiniteMagnitude))
    }

    @Test func largestFloatWrittenOut() throws {
        let digits =
            "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.0"
        #expect(try value("m v=\(digits)") == .float(.greatestFiniteMagnitude))
        #expect(try value("m v=-\(digits)") == .float(-.greatestFiniteMagnitude))
        #expect(try value("m v=0000\(digits)") == .float(.greatestFiniteMagnitude))
        #expect(reason("m v=1\(digits)") == "invalid float")
        #expect(reason("m v=-1\(digits)") == "invalid float")
    }

    @Test(arguments: [
        ("m v=1e400", "invalid float"), ("m v=-1e400", "invalid float"), ("m v=1e", "invalid float"),
        ("m v=1e+", "invalid float"), ("m v=-e-e-e ", "invalid float"), ("m v=1e5.5", "invalid float"),
        ("m v=.e5", "invalid float"), ("m v=1ee5", "invalid float"),
        ("m v=NaN", "invalid number"), ("m v=nan", "invalid number"), ("m v=nAn 1", "invalid number"),
        ("m v=n", "invalid number"), ("m v=-NaN", "invalid number"), ("m v=-Inf", "invalid number"),
        ("m v=Inf", "invalid boolean"), ("m v=+1", "invalid boolean"), ("m v=infinity", "invalid boolean"),
        ("m v=1a", "invalid number"), ("m v=.1a", "invalid number"), ("m v=1.1.1", "invalid number"),
        ("m v=0.-1", "invalid number"), ("m v=42+3 ", "invalid number"), ("m v=-", "invalid number"),
        ("m v=- ", "invalid number"), ("m v=-. ", "invalid number"), ("m v=. ", "invalid number"),
        ("m v=-i ", "invalid number"), ("m v=1ii ", "invalid number"), ("m v=1.0i ", "invalid number"),
        ("m v=1e5i", "invalid number"), ("m v=1i5", "invalid number"), ("m v=0x10", "invalid number"),
        ("m v=1_000", "invalid number"), ("m v=1\"", "invalid number"), ("m v=--1", "invalid number"),
    ])
    func numbersInfluxRejects(_ text: String, _ expected: String) {
        #expect(reason(text) == expected)
    }

    @Test func booleans() throws {
        for word in ["t", "T", "true", "True", "TRUE"] {
            #expect(try value("m b=\(word)") == .boolean(true))
        }
        for word in ["f", "F", "false", "False", "FALSE"] {
            #expect(try value("m b=\(word)") == .boolean(false))
        }
        for word in ["tRUE", "truE", "tr", "fals", "falsey", "true1", "yes", "a", "FaLse", "t\"x"] {
            #expect(reason("m b=\(word)") == "invalid boolean", "\(word)")
        }
        let line = try point("cpu true=true,t=t,T=T,TRUE=TRUE,True=True,false=false,f=f,F=F,FALSE=FALSE,False=False 1")
        #expect(line.fields.map(\.value) == [true, true, true, true, true, false, false, false, false, false].map { .boolean($0) })
    }
}

@Suite struct LineProtocolTimestampTests {
    @Test(arguments: [
        (LineProtocolPrecision.nanoseconds, Int64(1)), (.microseconds, 1_000), (.milliseconds, 1_000_000),
        (.seconds, 1_000_000_000), (.minutes, 60_000_000_000), (.hours, 3_600_000_000_000),
    ])
    func scalesByPrecision(_ precision: LineProtocolPrecision, _ factor: Int64) throws {
        #expect(precision.nanosecondsPerUnit == factor)
        #expect(try point("m f=1 3", precision).timestamp == 3 * factor)
        #expect(try point("m f=1 -3", precision).timestamp == -3 * factor)
        #expect(try point("m f=1 0", precision).timestamp == 0)
        #expect(try point("m f=1", precision).timestamp == nil)
        // The largest and smallest values that still fit [MinInt64+2, MaxInt64-1] after scaling.
        let high = (Int64.max - 1) / factor
        let low = (Int64.min + 2) / factor
        #expect(try point("m f=1 \(high)", precision).timestamp == high * factor)
        #expect(try point("m f=1 \(low)", precision).timestamp == low * factor)
        #expect(reason("m f=1 \(high + 1)", precision) == "time \(high + 1) is outside the range [\(low), \(high)]")
        #expect(reason("m f=1 \(low - 1)", precision) == "time \(low - 1) is outside the range [\(low), \(high)]")
    }

    @Test func concreteOverflows() {
        #expect(reason("m f=1 9223372036854775807") == "time 9223372036854775807 is outside the range [-9223372036854775806, 9223372036854775806]")
        #expect(reason("m f=1 -9223372036854775808") != nil)
        #expect(reason("m f=1 9223372036854775808") == "time 9223372036854775808 is outside the range [-9223372036854775806, 9223372036854775806]")
        #expect(reason("m f=1 -92233720368547758078") != nil)
        #expect(reason("m f=1 9223372037", .seconds) == "time 9223372037 is outside the range [-9223372036, 9223372036]")
        #expect(reason("m f=1 2562048", .hours) == "time 2562048 is outside the range [-2562047, 2562047]")
    }

    @Test func concreteValues() throws {
        #expect(try point("m f=1 946730096", .seconds).timestamp == 946_730_096_000_000_000)
        #expect(try point("m f=1 946730096789", .milliseconds).timestamp == 946_730_096_789_000_000)
        #expect(try point("m f=1 946730096789012", .microseconds).timestamp == 946_730_096_789_012_000)
        #expect(try point("m f=1 946730096789012345").timestamp == 946_730_096_789_012_345)
        #expect(try point("m f=1 -9223372036854775806").timestamp == -9_223_372_036_854_775_806)
        #expect(try point("m f=1 9223372036854775806").timestamp == 9_223_372_036_854_775_806)
    }

    @Test(arguments: ["m f=1 12a", "m f=1 1.5", "m f=1 -", "m f=1 1-", "m f=1 -/", "m f=1 --1", "m f=1 1e9", "m f=1 0x1", "m f=1 1434055562000000000i"])
    func badTimestamps(_ text: String) {
        #expect(reason(text) == "bad timestamp")
    }

    @Test func precisionParameter() {
        #expect(LineProtocolPrecision(parameter: "n") == .nanoseconds)
        #expect(LineProtocolPrecision(parameter: "ns") == .nanoseconds)
        #expect(LineProtocolPrecision(parameter: "u") == .microseconds)
        #expect(LineProtocolPrecision(parameter: "us") == .microseconds)
        #expect(LineProtocolPrecision(parameter: "\u{B5}") == .microseconds)
        #expect(LineProtocolPrecision(parameter: "ms") == .milliseconds)
        #expect(LineProtocolPrecision(parameter: "s") == .seconds)
        #expect(LineProtocolPrecision(parameter: "m") == .minutes)
        #expect(LineProtocolPrecision(parameter: "h") == .hours)
        for other in ["", "N", "NS", "\u{B5}s", "sec", "d", "rfc3339", " s"] {
            #expect(LineProtocolPrecision(parameter: other) == nil, "\(other)")
        }
    }
}

@Suite struct LineProtocolStructureTests {
    @Test(arguments: [
        ("cpu", "missing fields"), ("cpu_load_short,host=server01,region=us-west", "missing fields"),
        ("cpu,host==", "missing fields"), ("=", "missing fields"), ("cpu,host=a", "missing fields"),
        ("cpu ", "invalid field format"), (",t=1 f=1", "missing measurement"), (", f=1", "missing measurement"),
        ("cpu, value=1", "missing tag key"), ("cpu,", "missing tag key"), ("cpu,,,", "missing tag key"),
        ("cpu,host=serverA,=us-east value=1i", "missing tag key"), ("cpu,host=serverAa\\,,=us-east value=1i", "missing tag key"),
        ("cpu,host=serverA\\,,=us-east value=1i", "missing tag key"), ("cpu, =serverA value=1i", "missing tag key"),
        ("cpu,host", "missing tag value"), ("cpu,host,", "missing tag value"), ("cpu,host=", "missing tag value"),
        ("cpu,host value=1i", "missing tag value"), ("cpu,host=serverA,region value=1i", "missing tag value"),
        ("cpu,host=serverA,region= value=1i", "missing tag value"), ("cpu,host=serverA,region=,zone=us-west value=1i", "missing tag value"),
        ("cpu,host=f=o,", "invalid tag format"), ("cpu,host=f\\==o,", "invalid tag format"), ("cpu,t=a=b f=1", "invalid tag format"),
        ("cpu,host=serverA,region=us-west =", "missing field key"), ("cpu,host=serverA,region=us-west =123i", "missing field key"),
        ("cpu value=123i,=456i", "missing field key"), ("cpu \t=1", "missing field key"),
        ("cpu value=", "missing field value"), ("cpu value= 1000000000i", "missing field value"),
        ("cpu value=,value2=1i", "missing field value"), ("cpu,host=server01,region=us-west 1434055562000000000i", "invalid field format"),
        ("cpu value=1i,b", "invalid field format"), ("cpu f", "invalid field format"), ("cpu f=1,", "invalid field format"),
        ("cpu f=1,,g=2", "invalid field format"), ("cpu a\\=1", "invalid field format"),
        ("cpu,host=serverA value=\"test", "unbalanced quotes"), ("cpu,host=serverA value=\"test\"\"", "unbalanced quotes"),
        ("cpu value=\"x\\\"", "unbalanced quotes"),
        ("cpu f=\"abc\"def", "invalid field format"), ("m f=\"blah\"=123,r 1531703600000000000", "invalid field format"),
        ("cpu f=\"a\"b,g=1", "invalid field format"),
        ("cpu,a=1,a=2 f=1", "duplicate tags"), ("cpu,b=1,a=1,b=2 f=1", "duplicate tags"),
        ("cpu,host=serverA,host=serverB value=1i 1000000000", "duplicate tags"), ("cpu,b=2,b=1,c=3 value=1i 1000000000", "duplicate tags"),
        ("cpu,b=2,c=3,b=1 value=1i 1000000000", "duplicate tags"),
    ])
    func structuralErrors(_ text: String, _ expected: String) {
        #expect(reason(text) == expected)
    }

    @Test func duplicateFieldKeysKeepFirstPlaceAndLastValue() throws {
        let line = try point("m a=1,b=2i,a=\"x\",c=t,b=3i")
        #expect(line.fields == [LPField(key: "a", value: .string("x")), LPField(key: "b", value: .integer(3)), LPField(key: "c", value: .boolean(true))])
    }

    @Test func manyFieldsStayLinearAndDeduplicated() throws {
        var text = "m "
        for index in 0..<2000 { text += "f\(index % 1500)=\(index)i," }
        text.removeLast()
        let line = try point(text)
        #expect(line.fields.count == 1500)
        #expect(line.fields[0] == LPField(key: "f0", value: .integer(1500)))
        #expect(line.fields[499] == LPField(key: "f499", value: .integer(1999)))
        #expect(line.fields[500] == LPField(key: "f500", value: .integer(500)))
    }

    @Test func maxKeyLength() throws {
        let name65530 = String(repeating: "m", count: 65530)
        #expect(try point("\(name65530) f=1").measurement.utf8.count == 65530)
        #expect(reason("\(name65530) ff=1") == "max key length exceeded: 65536 > 65535")
        #expect(reason("\(String(repeating: "m", count: 65536)) f=1") == "max key length exceeded: 65536 > 65535")
        // The key is counted as written (escaped), tags included.
        #expect(reason("\(name65530),t=v f=1") == "max key length exceeded: 65539 > 65535")
        #expect(try point("\(String(repeating: "m", count: 65526)),t=v f=1").tags == [LPTag(key: "t", value: "v")])
    }

    @Test func invalidUTF8IsRejectedAfterTheSyntax() throws {
        var bytes = Array("cpu".utf8) + [0xFF] + Array(" f=1".utf8)
        var result = Result { () throws(LineProtocolError) in try LineProtocolParser().parseLine(bytes, lineNumber: 2) }
        #expect(throws: LineProtocolError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect(error.message == "unable to parse 'cpu\u{FFFD} f=1': invalid UTF-8 in measurement")
            #expect(error.lineNumber == 2)
        }
        bytes = Array("cpu s=\"".utf8) + [0xC3] + Array("\" 1".utf8)
        result = Result { () throws(LineProtocolError) in try LineProtocolParser().parseLine(bytes, lineNumber: 2) }
        if case .failure(let error) = result {
            #expect(error.message.hasSuffix("': invalid UTF-8 in string field"))
        } else {
            Issue.record("accepted invalid UTF-8")
        }
        // A syntax error wins over the encoding.
        bytes = Array("cpu,t=".utf8) + [0xFF] + Array(" f=".utf8)
        result = Result { () throws(LineProtocolError) in try LineProtocolParser().parseLine(bytes, lineNumber: 2) }
        if case .failure(let error) = result {
            #expect(error.message.hasSuffix("': missing field value"))
        }
    }
}

@Suite struct LineProtocolSeriesKeyTests {
    @Test func sortsTagsAndEscapes() throws {
        let line = try point("weather,zone=a\\ b,station=Dongsi t=1")
        #expect(line.tags == [LPTag(key: "station", value: "Dongsi"), LPTag(key: "zone", value: "a b")])
        #expect(line.seriesKey == "weather,station=Dongsi,zone=a\\ b")
    }

    @Test func escapesMeasurementCommaAndSpaceButNotEquals() throws {
        #expect(try point("my\\ m\\,x,k\\=1=v\\,2 f=1").seriesKey == "my\\ m\\,x,k\\=1=v\\,2")
        #expect(try point("a=b,t=1 f=1").seriesKey == "a=b,t=1")
        #expect(try point("a\\=b f=1").seriesKey == "a=b")
        #expect(try point("cpu f=1").seriesKey == "cpu")
        #expect(try point("cpu,t=\"q\" f=1").seriesKey == "cpu,t=\"q\"")
    }

    @Test func sortsByEscapedKeyBytesLikeInflux() throws {
        // Escaped, `a\ b` (0x5C after a) sorts after `a!`; unescaped "a b" would sort first.
        let reversed = try point("m,a\\ b=1,a!=2 f=1")
        #expect(reversed.tags == [LPTag(key: "a!", value: "2"), LPTag(key: "a b", value: "1")])
        #expect(try point("m,a!=2,a\\ b=1 f=1").tags == reversed.tags)
        #expect(reversed.seriesKey == "m,a!=2,a\\ b=1")
        let many = try point("cpu,region=us-west,host=serverA,env=prod,target=servers,zone=1c,Z=1,_a=2 value=1i")
        #expect(many.tags.map(\.key) == ["Z", "_a", "env", "host", "region", "target", "zone"])
        #expect(many.seriesKey == "cpu,Z=1,_a=2,env=prod,host=serverA,region=us-west,target=servers,zone=1c")
    }
}

@Suite struct LineProtocolBodyTests {
    @Test func keepsGoodLinesAndReportsBadOnesWithLineNumbers() {
        let body = "a f=1\nbad\n\n# comment\nb,t=x f=2i 5\r\nc f=\n  \nd f=\"ok\"\n"
        let (lines, errors) = LineProtocolParser().parse(Array(body.utf8))
        #expect(lines.map(\.measurement) == ["a", "b", "d"])
        #expect(lines.map(\.lineNumber) == [1, 5, 8])
        #expect(lines[1].timestamp == 5)
        #expect(
            errors == [
                LineProtocolError(lineNumber: 2, message: "unable to parse 'bad': missing fields"),
                LineProtocolError(lineNumber: 6, message: "unable to parse 'c f=': missing field value"),
            ]
        )
    }

    @Test func newlineInsideAQuotedStringContinuesTheLine() throws {
        let body = "m s=\"a\nb\" 1\nn,t=\"x f=2\nweird s=\"c\r\n\" 3"
        let (lines, errors) = LineProtocolParser().parse(Array(body.utf8))
        #expect(errors.isEmpty)
        #expect(lines.count == 3)
        #expect(lines[0].fields == [LPField(key: "s", value: .string("a\nb"))])
        #expect(lines[0].lineNumber == 1)
        // A quote in a tag is literal: the newline after it ends the line.
        #expect(lines[1].tags == [LPTag(key: "t", value: "\"x")])
        #expect(lines[1].lineNumber == 3)
        #expect(lines[2].fields == [LPField(key: "s", value: .string("c\r\n"))])
        #expect(lines[2].lineNumber == 4)
        #expect(lines[2].timestamp == 3)
    }

    @Test func backslashNewlineJoinsLinesExceptAtTheEnd() {
        var result = LineProtocolParser().parse(Array("m,t=a\\\nb f=1\nn f=2".utf8))
        #expect(result.errors.isEmpty)
        #expect(result.lines.map(\.tags) == [[LPTag(key: "t", value: "a\\\nb")], []])
        #expect(result.lines.map(\.lineNumber) == [1, 3])
        result = LineProtocolParser().parse(Array("m f=1\\\n".utf8))
        #expect(result.lines.isEmpty)
        #expect(result.errors == [LineProtocolError(lineNumber: 1, message: "unable to parse 'm f=1\\': invalid number")])
    }

    @Test func aCommentCanSwallowTheNextLineLikeInflux() {
        // scanLine does not know comments: after a space, `=` then `"` opens a quote.
        let (lines, errors) = LineProtocolParser().parse(Array("# a=\"b\nm f=1\nn f=\"2\"\n".utf8))
        #expect(errors.isEmpty)
        #expect(lines.map(\.measurement) == [])
        let plain = LineProtocolParser().parse(Array("# plain comment\nm f=1\n".utf8))
        #expect(plain.lines.map(\.lineNumber) == [2])
    }

    @Test func usesThePrecisionAndAcceptsAnyCollection() {
        let body = "m f=1 2\nm f=2\n"
        let parser = LineProtocolParser(precision: .milliseconds)
        let (lines, _) = parser.parse(Array(body.utf8).lazy.map { $0 })
        #expect(lines.map(\.timestamp) == [2_000_000, nil])
        #expect(LineProtocolParser().parse([UInt8]()).lines.isEmpty)
        #expect(LineProtocolParser().parse(Array("\n\n".utf8)).errors.isEmpty)
    }

    @Test func messagesEscapeControlsAndTruncate() {
        let (_, errors) = LineProtocolParser().parse(Array("m\u{1}\u{7F} f=\"\tx\n".utf8))
        #expect(errors == [LineProtocolError(lineNumber: 1, message: "unable to parse 'm\\u{0001}\\u{007F} f=\"\\tx\\n': unbalanced quotes")])
        let long = String(repeating: "€", count: 40) + " f"
        let message = (LineProtocolParser().parse(Array(long.utf8)).errors.first?.message) ?? ""
        // 100 bytes would cut the 34th "€" (3 bytes each): the cut moves back to 99 bytes.
        #expect(message == "unable to parse '\(String(repeating: "€", count: 33))…': invalid field format")
        let exact = String(repeating: "a", count: 96) + " f=\""
        #expect(LineProtocolParser().parse(Array(exact.utf8)).errors.first?.message == "unable to parse '\(exact)': unbalanced quotes")
    }
}
