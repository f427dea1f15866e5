// InfluxDB 1.x line protocol, parsed the way InfluxDB 1.x parses it.
//
// Ported rule for rule from influxdata/influxdb (1.x branch, import path github.com/influxdata/influxdb),
// read for this port at the commits given (short hashes):
//   models/points.go @67d1fa39, @004d1cf4   ParsePointsWithPrecision, parsePoint, scanKey, scanMeasurement, scanTags,
//                           scanTagsKey, scanTagsValue, scanFields, scanNumber, scanBoolean, scanTime,
//                           skipWhitespace, scanLine, unescapeTag, unescapeStringField, MakeKey/HashKey,
//                           FieldIterator (Next/StringValue), MaxKeyLength, seriesKeySize
//   models/time.go @01e4ff09   SafeCalcTime, CheckTime, MinNanoTime = MinInt64+2, MaxNanoTime = MaxInt64-1
//   models/inline_strconv_parse.go @08a4a710   values are checked with Go's strconv.ParseInt/ParseUint/ParseFloat
//   models/uint_support.go @7e765748   `u` values only with the `uint`/`uint64` build tag
//   pkg/escape/bytes.go @46dccfd7   Unescape / AppendUnescaped (measurement, field keys: `\,` `\"` `\ ` `\=`)
//   models/points_test.go @743946fa (1.x; v2's @00646c56 too)   TestParsePointMissingTagKey/-Value, InvalidTagFormat, MissingFieldName/-Value,
//                           BadNumber, Max/MinInt64, Max/MinUint64, Max/MinFloat64, FloatScientific*,
//                           MissingQuote, NoFields, Nulls, EqPattern_Measurement
//   services/httpd/handler.go @001da287   serveWrite: the parse error of each bad line is reported, good lines are written
// and issues influxdata/influxdb#9102 (1.x keeps `"a "b" c"` as `a "b" c`, wontfix), #7886, #5240.
//
// Rules, in the order InfluxDB applies them (messages are InfluxDB's, shortened where it quotes Go's strconv):
// - Lines: leading ' ', '\t' and NUL are skipped; blank lines and lines whose first other byte is '#'
//   are ignored.
// - Measurement: up to the first unescaped ',' (tags follow) or ' ' (fields follow); must not start
//   with ',' ("missing measurement"); "missing fields" if the line ends first. A byte is escaped when
//   the byte before it is a backslash (so `\\,` escapes the comma). `=` and `"` are literal.
//   Unescaped: `\,` `\ ` `\=` `\"` lose the backslash; any other backslash stays.
// - Tags: `key=value` separated by ','. Key: must not start with ' ', ',' or '=' ("missing tag key");
//   ends at the first unescaped '='; an unescaped ' ' or ',' or the end first is "missing tag value".
//   Value: must not be empty or start with ',' or ' ' ("missing tag value"; a leading '=' is allowed);
//   an unescaped '=' later is "invalid tag format"; ends at an unescaped ',' or ' '; the end of the
//   line first is "missing fields". Unescaped: `\,` `\ ` `\=` only (`\"` stays as is).
//   The same key twice is "duplicate tags". Tags are sorted by their escaped key bytes.
//   Measurement plus tags as written longer than 65535 bytes: "max key length exceeded".
// - Fields (after any run of ' ', '\t', NUL): `key=value` separated by ','; a backslash escapes the
//   next byte (pairwise here, unlike in the key). Empty key: "missing field key"; '=' at the end or
//   followed by ',' or ' ': "missing field value"; no '=' at all or a key without '=':
//   "invalid field format"; an open quote at the end: "unbalanced quotes". Keys unescape like
//   measurements. A value starting with a digit, '.', '-', 'N' or 'n' is a number, one starting with
//   '"' a string, anything else a boolean.
// - Numbers: optional leading '-', digits and at most one '.', an 'e'/'E' (not first) optionally
//   followed by '+'/'-', then optionally one 'i' (integer) or 'u' (unsigned) that must be last;
//   i/u never with '.' or an exponent, u never with '-'; at least one digit. Anything else (NaN,
//   Inf, 0x1p3, "+1", "1_000", a tab after the value) is "invalid number". Integers must fit Int64, unsigned UInt64
//   ("unable to parse integer …"/"unable to parse unsigned …"); floats must be valid Go floats and
//   finite ("invalid float": "1e", "1e400"); "1.", ".5", "-.5", "1.e5", "1E+5", leading zeros are fine.
//   Uint support is on, as in InfluxDB builds with the `uint` tag (stock 1.x builds reject `1u`).
// - Booleans: exactly t T true True TRUE f F false False FALSE; else "invalid boolean".
// - Strings: `"…"`; `\"` and `\\` are unescaped, every other backslash is kept; newlines are allowed.
//   As in InfluxDB 1.x the value runs to the next unquoted ',' or ' ' and quotes toggle inside it,
//   so `"a "b" c"` is `a "b" c` and `""x""` is `"x"` (#9102, #7886).
// - Timestamp (after ' ', '\t', NUL): optional '-' then digits, else "bad timestamp" (also a lone '-',
//   where InfluxDB quotes Go's strconv error); must fit Int64;
//   multiplied by the precision without overflow and within [MinInt64+2, MaxInt64-1] nanoseconds,
//   else "time … is outside the range [min, max]" (bounds in the precision's unit). After a
//   timestamp only spaces may follow ("point is invalid"); trailing spaces after fields are fine.
//
// Deliberate differences from InfluxDB 1.x:
// - One trailing '\r' is removed from every line, for CRLF bodies (InfluxDB rejects such lines with
//   "invalid number" or "bad timestamp").
// - A string value whose token does not end with its closing quote (`"abc"def`, `"a"=1`) is
//   "invalid field format" (InfluxDB stores `abc"de`, and v2 rejects `f="blah"=123,r` too).
// - An empty field key after a tab (`m \t=1`) is "missing field key" (InfluxDB silently drops the field).
// - Text that is not valid UTF-8 is "invalid UTF-8 in …" (InfluxDB stores raw bytes).
//
// Notes: a field key given twice keeps the last value (as InfluxDB's field map) at the place of its
// first occurrence. Reserved names (a "time" field key etc.) are not checked here: InfluxDB checks
// them when writing, not when parsing.

/// Parses InfluxDB 1.x line protocol into `LineProtocolLine`s with InfluxDB's rules and messages.
package struct LineProtocolParser: Sendable {
    package var precision: LineProtocolPrecision

    package init(precision: LineProtocolPrecision = .nanoseconds) {
        self.precision = precision
    }

    /// Parses one line (without its terminating newline; a trailing "\r" is tolerated). Returns nil for blank and comment lines.
    package func parseLine(_ bytes: some Collection<UInt8>, lineNumber: Int) throws(LineProtocolError) -> LineProtocolLine? {
        let result: Result<LineProtocolLine?, LineProtocolError>
        if let contiguous = bytes.withContiguousStorageIfAvailable({ parseLine(buffer: $0, lineNumber: lineNumber) }) {
            result = contiguous
        } else {
            result = Array(bytes).withUnsafeBufferPointer { parseLine(buffer: $0, lineNumber: lineNumber) }
        }
        return try result.get()
    }

    /// Parses a whole body: every good line, and one error per bad line (the good lines are kept, like InfluxDB's partial write).
    package func parse(_ body: some Collection<UInt8>) -> (lines: [LineProtocolLine], errors: [LineProtocolError]) {
        if let result = body.withContiguousStorageIfAvailable({ parse(buffer: $0) }) {
            return result
        }
        return Array(body).withUnsafeBufferPointer { parse(buffer: $0) }
    }

    private func parse(buffer: UnsafeBufferPointer<UInt8>) -> (lines: [LineProtocolLine], errors: [LineProtocolError]) {
        var lines: [LineProtocolLine] = []
        var errors: [LineProtocolError] = []
        var scanner = LineBoundaryScanner(quoteAware: true)
        var position = 0
        var lineNumber = 1
        while position < buffer.count {
            let end: Int
            let next: Int
            if let terminator = scanner.scan(buffer, from: position) {
                end = terminator
                next = terminator + 1
            } else {
                end = scanner.endsWithEscapedNewline ? buffer.count - 1 : buffer.count
                next = buffer.count
            }
            switch parseLine(buffer: UnsafeBufferPointer(rebasing: buffer[position..<end]), lineNumber: lineNumber) {
            case .success(let line?): lines.append(line)
            case .success(nil): break
            case .failure(let error): errors.append(error)
            }
            lineNumber += scanner.newlinesInLine + 1
            scanner.reset()
            position = next
        }
        return (lines, errors)
    }

    private func parseLine(buffer: UnsafeBufferPointer<UInt8>, lineNumber: Int) -> Result<LineProtocolLine?, LineProtocolError> {
        var end = buffer.count
        if end > 0, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var start = 0
        while start < end, Self.isWhitespace(buffer[start]) { start += 1 }
        if start == end || buffer[start] == UInt8(ascii: "#") { return .success(nil) }
        let text = UnsafeBufferPointer(rebasing: buffer[start..<end])
        var point = PointScanner(bytes: text, nanosecondsPerUnit: precision.nanosecondsPerUnit)
        do throws(PointScanner.Failure) {
            return .success(try point.scan(lineNumber: lineNumber))
        } catch {
            let message = "unable to parse '\(Self.printable(text, limit: 100))': \(error.reason)"
            return .failure(LineProtocolError(lineNumber: lineNumber, message: message))
        }
    }

    /// InfluxDB's skipWhitespace set: space, tab and NUL.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == 0
    }

    /// The line as text for a message: at most `limit` bytes (cut at a character boundary, "…" added),
    /// invalid UTF-8 replaced, control characters escaped so the message stays on one line.
    static func printable(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> String {
        var cut = min(bytes.count, limit)
        let truncated = cut < bytes.count
        if truncated {
            while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        }
        var out = ""
        for scalar in String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<cut]), as: UTF8.self).unicodeScalars {
            switch scalar.value {
            case 0x09: out += "\\t"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u{" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return truncated ? out + "…" : out
    }
}

/// Scans one line (leading whitespace and trailing CR already removed) as `parsePoint` does.
private struct PointScanner {
    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Which backslash sequences lose their backslash.
    private enum Escapes {
        /// Measurement and field keys (escape.Unescape): `\,` `\"` `\ ` `\=`.
        case name
        /// Tag keys and values (unescapeTag): `\,` `\ ` `\=`.
        case tag
    }

    private static let maxKeyLength = 65535
    private static let minNanoTime = Int64.min + 2
    private static let maxNanoTime = Int64.max - 1

    private let b: UnsafeBufferPointer<UInt8>
    private let n: Int
    private let nanosecondsPerUnit: Int64
    /// The first text that was not valid UTF-8; reported once the syntax is known to be good.
    private var invalidText: String?
    /// Positions of field keys, once a line has many fields.
    private var fieldIndex: [String: Int]?

    init(bytes: UnsafeBufferPointer<UInt8>, nanosecondsPerUnit: Int64) {
        self.b = bytes
        self.n = bytes.count
        self.nanosecondsPerUnit = nanosecondsPerUnit
    }

    mutating func scan(lineNumber: Int) throws(Failure) -> LineProtocolLine {
        let (measurement, tags, keyLength) = try scanKey()
        if keyLength > Self.maxKeyLength { throw Failure("max key length exceeded: \(keyLength) > \(Self.maxKeyLength)") }
        let (fields, longestFieldKey, fieldsEnd) = try scanFields(from: skipWhitespace(from: keyLength))
        // seriesKeySize: key + 4 (tsm1 field separator) + field key, checked per field.
        if keyLength + 4 + longestFieldKey > Self.maxKeyLength {
            throw Failure("max key length exceeded: \(keyLength + 4 + longestFieldKey) > \(Self.maxKeyLength)")
        }
        let timestamp = try scanTime(from: skipWhitespace(from: fieldsEnd))
        if let invalidText { throw Failure(invalidText) }
        return LineProtocolLine(measurement: measurement, tags: tags, fields: fields, timestamp: timestamp, lineNumber: lineNumber)
    }

    // MARK: Sections

    /// scanKey: measurement (scanMeasurement), tags (scanTags), then the sort and duplicate checks.
    /// Returns the position of the space that ends the key, which is also the key's length.
    private mutating func scanKey() throws(Failure) -> (String, [LineProtocolLine.Tag], Int) {
        if n == 0 || b[0] == UInt8(ascii: ",") { throw Failure("missing measurement") }
        var i = 0
        var hasTags = false
        while true {
            i += 1
            if i >= n { throw Failure("missing fields") }
            if b[i - 1] == UInt8(ascii: "\\") { continue }
            if b[i] == UInt8(ascii: ",") {
                hasTags = true
                break
            }
            if b[i] == UInt8(ascii: " ") { break }
        }
        let measurement = text(0, i, .name, what: "measurement")
        guard hasTags else { return (measurement, [], i) }

        var tags: [LineProtocolLine.Tag] = []
        tags.reserveCapacity(4)
        i += 1
        var sorted = true
        var duplicate = false
        var previousKey = 0..<0
        while true {
            // scanTagsKey
            let keyStart = i
            if i >= n || b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: ",") || b[i] == UInt8(ascii: "=") {
                throw Failure("missing tag key")
            }
            while true {
                i += 1
                if i >= n || ((b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: ",")) && b[i - 1] != UInt8(ascii: "\\")) {
                    throw Failure("missing tag value")
                }
                if b[i] == UInt8(ascii: "=") && b[i - 1] != UInt8(ascii: "\\") { break }
            }
            let key = keyStart..<i
            // scanTagsValue
            i += 1
            let valueStart = i
            if i >= n || b[i] == UInt8(ascii: ",") || b[i] == UInt8(ascii: " ") { throw Failure("missing tag value") }
            var more = false
            while true {
                i += 1
                if i >= n { throw Failure("missing fields") }
                let byte = b[i]
                let escaped = b[i - 1] == UInt8(ascii: "\\")
                if byte == UInt8(ascii: "=") && !escaped { throw Failure("invalid tag format") }
                if byte == UInt8(ascii: ",") && !escaped {
                    more = true
                    break
                }
                if byte == UInt8(ascii: " ") && !escaped { break }
            }
            if !previousKey.isEmpty {
                let order = compareBytes(previousKey, key)
                if order > 0 { sorted = false } else if order == 0 { duplicate = true }
            }
            previousKey = key
            tags.append(
                LineProtocolLine.Tag(
                    key: text(key.lowerBound, key.upperBound, .tag, what: "tag key"),
                    value: text(valueStart, i, .tag, what: "tag value")
                )
            )
            if !more { break }
            i += 1
        }
        if duplicate { throw Failure("duplicate tags") }
        if !sorted {
            tags.sort { Self.escapedTagKeyPrecedes($0.key, $1.key) }
            for index in tags.indices.dropFirst() where tags[index].key == tags[index - 1].key {
                throw Failure("duplicate tags")
            }
        }
        return (measurement, tags, i)
    }

    /// scanFields, with the values taken as FieldIterator takes them. Returns the fields, the
    /// length of the longest raw field key and the position where the section ends.
    private mutating func scanFields(from start: Int) throws(Failure) -> ([LineProtocolLine.Field], Int, Int) {
        var fields: [LineProtocolLine.Field] = []
        fields.reserveCapacity(4)
        var i = start
        var quoted = false
        var equals = 0
        var commas = 0
        var keyStart = i
        var stringKey = 0..<0
        var stringStart = -1
        var closingQuote = -1
        var longestKey = 0
        while i < n {
            let byte = b[i]
            if byte == UInt8(ascii: "\\") && i + 1 < n {
                i += 2
                continue
            }
            if byte == UInt8(ascii: "\"") && equals > commas {
                quoted.toggle()
                if !quoted { closingQuote = i }
                i += 1
                continue
            }
            if byte == UInt8(ascii: "=") && !quoted {
                // A second '=' in one field can only follow a closed string value (`"a"=1`).
                if stringStart >= 0 { throw Failure("invalid field format") }
                equals += 1
                let before = b[i - 1]
                if i == keyStart
                    || (before == UInt8(ascii: " ") && b[i - 2] != UInt8(ascii: "\\"))
                    || (before == UInt8(ascii: ",") && b[i - 2] != UInt8(ascii: "\\"))
                {
                    throw Failure("missing field key")
                }
                if i + 1 >= n { throw Failure("missing field value") }
                let first = b[i + 1]
                if first == UInt8(ascii: ",") || first == UInt8(ascii: " ") { throw Failure("missing field value") }
                let key = keyStart..<i
                longestKey = max(longestKey, key.count)
                if Self.isNumeric(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "N") || first == UInt8(ascii: "n") {
                    let (end, value) = try scanNumber(from: i + 1)
                    add(key, value, to: &fields)
                    i = end
                    continue
                }
                if first != UInt8(ascii: "\"") {
                    let (end, value) = try scanBoolean(from: i + 1)
                    add(key, .boolean(value), to: &fields)
                    i = end
                    continue
                }
                // A string: its opening quote is next; the value ends at an unquoted ',' or ' '.
                stringKey = key
                stringStart = i + 1
                i += 1
                continue
            }
            if byte == UInt8(ascii: ",") && !quoted {
                commas += 1
                if stringStart >= 0 {
                    try addString(stringKey, from: stringStart, to: i, closingQuote: closingQuote, to: &fields)
                    stringStart = -1
                }
                keyStart = i + 1
            }
            if byte == UInt8(ascii: " ") && !quoted { break }
            i += 1
        }
        if quoted { throw Failure("unbalanced quotes") }
        if stringStart >= 0 {
            try addString(stringKey, from: stringStart, to: i, closingQuote: closingQuote, to: &fields)
        }
        if equals == 0 || commas != equals - 1 { throw Failure("invalid field format") }
        return (fields, longestKey, i)
    }

    /// scanTime, parseIntBytes and SafeCalcTime, then the check that only spaces follow.
    private func scanTime(from start: Int) throws(Failure) -> Int64? {
        var i = start
        while i < n {
            let byte = b[i]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: " ") { break }
            if i == start && byte == UInt8(ascii: "-") {
                i += 1
                continue
            }
            if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") { throw Failure("bad timestamp") }
            i += 1
        }
        if i == start { return nil }
        let timestamp = try scaledTime(from: start, to: i)
        while i < n {
            if b[i] != UInt8(ascii: " ") { throw Failure("point is invalid") }
            i += 1
        }
        return timestamp
    }

    // MARK: Values

    /// scanNumber: the end of the number and its value.
    private func scanNumber(from start: Int) throws(Failure) -> (Int, LineProtocolValue) {
        var i = start
        var isInt = false
        var isUnsigned = false
        if i < n && b[i] == UInt8(ascii: "-") {
            i += 1
            if i == n { throw Failure("invalid number") }
        }
        var decimal = false
        var scientific = false
        while i < n {
            let byte = b[i]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") { break }
            if byte == UInt8(ascii: "i") && i > start && !(isInt || isUnsigned) {
                isInt = true
                i += 1
                continue
            }
            if byte == UInt8(ascii: "u") && i > start && !(isInt || isUnsigned) {
                isUnsigned = true
                i += 1
                continue
            }
            if byte == UInt8(ascii: ".") {
                if decimal { throw Failure("invalid number") }
                decimal = true
            }
            if i > start && (byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")) {
                scientific = true
                i += 1
                continue
            }
            if (byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")) && (b[i - 1] == UInt8(ascii: "e") || b[i - 1] == UInt8(ascii: "E")) {
                i += 1
                continue
            }
            if !Self.isNumeric(byte) { throw Failure("invalid number") }
            i += 1
        }
        if (isInt || isUnsigned) && (decimal || scientific) { throw Failure("invalid number") }
        var digits = i - start
        if isInt { digits -= 1 }
        if decimal { digits -= 1 }
        if b[start] == UInt8(ascii: "-") { digits -= 1 }
        if digits == 0 { throw Failure("invalid number") }

        if isInt {
            if b[i - 1] != UInt8(ascii: "i") { throw Failure("invalid number") }
            guard let value = parseInt64(start, i - 1) else {
                throw Failure("unable to parse integer \(ascii(start, i - 1)): value out of range")
            }
            return (i, .integer(value))
        }
        if isUnsigned {
            if b[i - 1] != UInt8(ascii: "u") || b[start] == UInt8(ascii: "-") { throw Failure("invalid number") }
            guard let value = parseUInt64(start, i - 1) else {
                throw Failure("unable to parse unsigned \(ascii(start, i - 1)): value out of range")
            }
            return (i, .unsigned(value))
        }
        guard let value = parseDouble(start, i), value.isFinite else { throw Failure("invalid float") }
        return (i, .float(value))
    }

    /// scanBoolean: t T true True TRUE f F false False FALSE, up to the next ',' or ' '.
    private func scanBoolean(from start: Int) throws(Failure) -> (Int, Bool) {
        let first = b[start]
        guard first == UInt8(ascii: "t") || first == UInt8(ascii: "T") || first == UInt8(ascii: "f") || first == UInt8(ascii: "F") else {
            throw Failure("invalid boolean")
        }
        var i = start + 1
        while i < n && b[i] != UInt8(ascii: ",") && b[i] != UInt8(ascii: " ") { i += 1 }
        let truth = first == UInt8(ascii: "t") || first == UInt8(ascii: "T")
        if i - start == 1 { return (i, truth) }
        let word = UnsafeBufferPointer(rebasing: b[start..<i])
        let valid: Bool
        switch first {
        case UInt8(ascii: "t"): valid = word.elementsEqual("true".utf8)
        case UInt8(ascii: "f"): valid = word.elementsEqual("false".utf8)
        case UInt8(ascii: "T"): valid = word.elementsEqual("TRUE".utf8) || word.elementsEqual("True".utf8)
        default: valid = word.elementsEqual("FALSE".utf8) || word.elementsEqual("False".utf8)
        }
        if !valid { throw Failure("invalid boolean") }
        return (i, truth)
    }

    /// Adds a string field whose token is `b[start..<end]`; the token must end with its closing quote.
    private mutating func addString(
        _ key: Range<Int>,
        from start: Int,
        to end: Int,
        closingQuote: Int,
        to fields: inout [LineProtocolLine.Field]
    ) throws(Failure) {
        guard closingQuote == end - 1, end - start >= 2 else { throw Failure("invalid field format") }
        // unescapeStringField: `\\` -> `\`, `\"` -> `"`, pairwise from the left.
        let inner = UnsafeBufferPointer(rebasing: b[(start + 1)..<(end - 1)])
        let value: String
        if !inner.contains(UInt8(ascii: "\\")) {
            value = makeString(inner, what: "string field")
        } else {
            var out: [UInt8] = []
            out.reserveCapacity(inner.count)
            var j = 0
            while j < inner.count {
                let byte = inner[j]
                if byte == UInt8(ascii: "\\"), j + 1 < inner.count,
                    inner[j + 1] == UInt8(ascii: "\\") || inner[j + 1] == UInt8(ascii: "\"")
                {
                    out.append(inner[j + 1])
                    j += 2
                    continue
                }
                out.append(byte)
                j += 1
            }
            value = out.withUnsafeBufferPointer { makeString($0, what: "string field") }
        }
        add(key, .string(value), to: &fields)
    }

    /// Adds a field; a key seen before keeps its place and takes the new value.
    /// Few fields are searched linearly; past 16 an index keeps long lines linear.
    private mutating func add(_ key: Range<Int>, _ value: LineProtocolValue, to fields: inout [LineProtocolLine.Field]) {
        let name = text(key.lowerBound, key.upperBound, .name, what: "field key")
        if fieldIndex == nil && fields.count >= 16 {
            var index: [String: Int] = [:]
            for (position, field) in fields.enumerated() { index[field.key] = position }
            fieldIndex = index
        }
        if fieldIndex != nil {
            if let position = fieldIndex?[name] {
                fields[position].value = value
            } else {
                fieldIndex?[name] = fields.count
                fields.append(LineProtocolLine.Field(key: name, value: value))
            }
            return
        }
        if let position = fields.firstIndex(where: { $0.key == name }) {
            fields[position].value = value
            return
        }
        fields.append(LineProtocolLine.Field(key: name, value: value))
    }

    /// The timestamp in nanoseconds: parsed as Int64, scaled, and inside InfluxDB's time range.
    private func scaledTime(from start: Int, to end: Int) throws(Failure) -> Int64 {
        let unit = nanosecondsPerUnit
        var outOfRange: Failure {
            Failure("time \(ascii(start, end)) is outside the range [\(Self.minNanoTime / unit), \(Self.maxNanoTime / unit)]")
        }
        guard end - start > (b[start] == UInt8(ascii: "-") ? 1 : 0) else { throw Failure("bad timestamp") }
        guard let raw = parseInt64(start, end) else { throw outOfRange }
        let (scaled, overflow) = raw.multipliedReportingOverflow(by: unit)
        if overflow || scaled < Self.minNanoTime || scaled > Self.maxNanoTime { throw outOfRange }
        return scaled
    }

    /// `-?[0-9]+` (already checked by the scanner) as Int64, nil when out of range.
    private func parseInt64(_ start: Int, _ end: Int) -> Int64? {
        let negative = b[start] == UInt8(ascii: "-")
        guard let magnitude = parseUInt64(negative ? start + 1 : start, end) else { return nil }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return nil }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        if magnitude > UInt64(Int64.max) { return nil }
        return Int64(magnitude)
    }

    /// `[0-9]+` as UInt64, nil when out of range.
    private func parseUInt64(_ start: Int, _ end: Int) -> UInt64? {
        var value: UInt64 = 0
        var i = start
        while i < end {
            let digit = UInt64(b[i] &- UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
            i += 1
        }
        return value
    }

    /// A float as Go's strconv.ParseFloat reads `-?(d+.?d*|.d+)([eE][+-]?d+)?`; nil when not that form.
    /// Exact fast path (Clinger) when the digits fit 2^53 and the power of ten is ≤ 22, else strtod.
    private func parseDouble(_ start: Int, _ end: Int) -> Double? {
        var i = start
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var sawDigit = false
        var sawDot = false
        while i < end {
            let byte = b[i]
            if byte == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                sawDigit = true
                if mantissa == 0 && byte == UInt8(ascii: "0") {
                    if sawDot { exponent -= 1 }
                } else if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                    significant += 1
                    if sawDot { exponent -= 1 }
                } else {
                    significant += 1
                    if !sawDot { exponent += 1 }
                }
            } else {
                break
            }
            i += 1
        }
        if !sawDigit { return nil }
        var exactDigits = significant <= 19
        if i < end {
            guard b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") else { return nil }
            i += 1
            var exponentNegative = false
            if i < end && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
                exponentNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end else { return nil }
            var written = 0
            while i < end {
                let byte = b[i]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                if written < 100_000 { written = written * 10 + Int(byte - UInt8(ascii: "0")) }
                i += 1
            }
            exponent += exponentNegative ? -written : written
            if written >= 100_000 { exactDigits = false }
        }
        if exactDigits && mantissa <= (1 << 53) && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 {
                value /= Self.powersOfTen[-exponent]
            } else {
                value *= Self.powersOfTen[exponent]
            }
            return negative ? -value : value
        }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    // MARK: Text

    private func skipWhitespace(from start: Int) -> Int {
        var i = start
        while i < n && LineProtocolParser.isWhitespace(b[i]) { i += 1 }
        return i
    }

    private static func isNumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
    }

    /// Compares two ranges of the line byte by byte (bytes.Compare).
    private func compareBytes(_ left: Range<Int>, _ right: Range<Int>) -> Int {
        let count = min(left.count, right.count)
        var k = 0
        while k < count {
            let l = b[left.lowerBound + k]
            let r = b[right.lowerBound + k]
            if l != r { return l < r ? -1 : 1 }
            k += 1
        }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }

    /// Orders tag keys as InfluxDB does: by their escaped bytes (`,`, ` `, `=` preceded by `\`).
    private static func escapedTagKeyPrecedes(_ left: String, _ right: String) -> Bool {
        var l = EscapedTagBytes(left.utf8.makeIterator())
        var r = EscapedTagBytes(right.utf8.makeIterator())
        while true {
            switch (l.next(), r.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?): if x != y { return x < y }
            }
        }
    }

    private struct EscapedTagBytes: IteratorProtocol {
        var base: String.UTF8View.Iterator
        var held: UInt8?

        init(_ base: String.UTF8View.Iterator) { self.base = base }

        mutating func next() -> UInt8? {
            if let byte = held {
                held = nil
                return byte
            }
            guard let byte = base.next() else { return nil }
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "=") {
                held = byte
                return UInt8(ascii: "\\")
            }
            return byte
        }
    }

    /// The bytes `b[start..<end]` unescaped by `escapes`, as a String.
    private mutating func text(_ start: Int, _ end: Int, _ escapes: Escapes, what: String) -> String {
        let raw = UnsafeBufferPointer(rebasing: b[start..<end])
        var plain = true
        var ascii = true
        for byte in raw where byte >= UInt8(ascii: "\\") {
            if byte == UInt8(ascii: "\\") { plain = false }
            if byte >= 0x80 { ascii = false }
        }
        if plain { return makeString(raw, ascii: ascii, what: what) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var j = 0
        while j < raw.count {
            let byte = raw[j]
            if byte == UInt8(ascii: "\\"), j + 1 < raw.count {
                let next = raw[j + 1]
                if next == UInt8(ascii: ",") || next == UInt8(ascii: " ") || next == UInt8(ascii: "=")
                    || (escapes == .name && next == UInt8(ascii: "\""))
                {
                    out.append(next)
                    j += 2
                    continue
                }
            }
            out.append(byte)
            j += 1
        }
        return out.withUnsafeBufferPointer { makeString($0, ascii: ascii, what: what) }
    }

    private mutating func makeString(_ bytes: UnsafeBufferPointer<UInt8>, ascii: Bool? = nil, what: String) -> String {
        if ascii ?? !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        if invalidText == nil { invalidText = "invalid UTF-8 in \(what)" }
        return ""
    }

    /// Digits of a number for a message (only ASCII digits and '-' reach here).
    private func ascii(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    }
}
