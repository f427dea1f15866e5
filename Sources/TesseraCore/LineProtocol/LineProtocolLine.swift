/// One point of InfluxDB 1.x line protocol, unescaped and typed:
/// `measurement[,tag=value...] field=value[,field=value...] [timestamp]`.
package struct LineProtocolLine: Sendable, Equatable {
    package var measurement: String
    /// Sorted by key as InfluxDB sorts them: by the bytes of the escaped key, which is plain
    /// byte order unless a key contains `,`, ` ` or `=`. Keys are unique.
    package var tags: [Tag]
    /// In input order; a key given twice keeps its first position and its last value
    /// (InfluxDB's field map keeps the last value written for a key).
    package var fields: [Field]
    /// Nanoseconds since 1970, already scaled by the precision; nil if absent.
    package var timestamp: Int64?
    /// 1-based line number in the request body (of the line's first byte).
    package var lineNumber: Int

    package init(measurement: String, tags: [Tag], fields: [Field], timestamp: Int64?, lineNumber: Int) {
        self.measurement = measurement
        self.tags = tags
        self.fields = fields
        self.timestamp = timestamp
        self.lineNumber = lineNumber
    }

    /// The series key as InfluxDB forms it from a name and tags (`models.MakeKey`): the measurement
    /// with `,` and ` ` escaped, then `,key=value` per tag in order with `,`, ` ` and `=` escaped,
    /// e.g. `weather,station=Dongsi,zone=a\ b`.
    /// The line's points: entity = the series key, one attribute a field, the time in
    /// microseconds (rounded down from nanoseconds), each at `index`.
    package func incomingPoints(index: Int) -> [IncomingPoint] {
        let entity = self.seriesKey
        let time = self.timestamp.map { Timestamps.floorDivide($0, 1_000) }
        return self.fields.map { field in
            IncomingPoint(entityKey: entity, attribute: field.key, value: .lineProtocol(field.value), timestamp: time, index: index)
        }
    }

    package var seriesKey: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(measurement.utf8.count + tags.count * 16)
        Self.appendEscaped(measurement, to: &bytes, escapingEquals: false)
        for tag in tags {
            bytes.append(UInt8(ascii: ","))
            Self.appendEscaped(tag.key, to: &bytes, escapingEquals: true)
            bytes.append(UInt8(ascii: "="))
            Self.appendEscaped(tag.value, to: &bytes, escapingEquals: true)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendEscaped(_ text: String, to bytes: inout [UInt8], escapingEquals: Bool) {
        for byte in text.utf8 {
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || (escapingEquals && byte == UInt8(ascii: "=")) {
                bytes.append(UInt8(ascii: "\\"))
            }
            bytes.append(byte)
        }
    }

    /// A tag, unescaped.
    package struct Tag: Sendable, Equatable {
        package var key: String
        package var value: String

        package init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A field, key unescaped, value typed by its syntax.
    package struct Field: Sendable, Equatable {
        package var key: String
        package var value: LineProtocolValue

        package init(key: String, value: LineProtocolValue) {
            self.key = key
            self.value = value
        }
    }
}

/// A field value, typed as line protocol types it: `1.5` float, `1i` integer, `1u` unsigned,
/// `"text"` string, `t`/`true`/`F`/`FALSE`… boolean.
package enum LineProtocolValue: Sendable, Equatable {
    case float(Double)
    case integer(Int64)
    case unsigned(UInt64)
    case string(String)
    case boolean(Bool)
}

/// The unit of line protocol timestamps, from the `precision` parameter of `/write`.
package enum LineProtocolPrecision: Sendable, Equatable {
    case nanoseconds, microseconds, milliseconds, seconds, minutes, hours

    /// From the `precision` query parameter of InfluxDB 1.x `/write`: "n"/"ns", "u"/"us"/"µ", "ms", "s", "m", "h";
    /// nil for anything else. Absent parameter = nanoseconds (caller handles).
    /// (InfluxDB 1.x's `models.GetPrecisionMultiplier` knows "u", "ms", "s", "m", "h" and silently
    /// treats every other value, "us" and "µ" included, as nanoseconds; later tools accept "us"/"µ".)
    package init?(parameter: String) {
        switch parameter {
        case "n", "ns": self = .nanoseconds
        case "u", "us", "\u{B5}": self = .microseconds
        case "ms": self = .milliseconds
        case "s": self = .seconds
        case "m": self = .minutes
        case "h": self = .hours
        default: return nil
        }
    }

    /// Nanoseconds per unit.
    package var nanosecondsPerUnit: Int64 {
        switch self {
        case .nanoseconds: 1
        case .microseconds: 1_000
        case .milliseconds: 1_000_000
        case .seconds: 1_000_000_000
        case .minutes: 60_000_000_000
        case .hours: 3_600_000_000_000
        }
    }
}

/// A line that could not be parsed: its line number and an InfluxDB-style message
/// (`unable to parse '<line>': <reason>`), with control characters escaped.
package struct LineProtocolError: Error, Sendable, Equatable {
    package var lineNumber: Int
    package var message: String

    package init(lineNumber: Int, message: String) {
        self.lineNumber = lineNumber
        self.message = message
    }
}
