import TesseraCore
import TesseraStore

/// A series page as the JSON bytes `GET /v1/entities/{key}/series/{attribute}` answers,
/// written point by point: `{"entity", "attribute", "type", "points": [{"ts", "value"}…],
/// "next_cursor"}`. A page of 10,000 points is written without building a value tree of
/// 10,000 objects and their time strings.
struct SeriesPageDocument {
    var entity: String
    var attribute: String
    var type: ValueType
    var times: [Int64]
    var values: [JSONValue]
    var nextCursor: String?

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(128 + self.times.count * 48)
        out.append(contentsOf: #"{"entity":"#.utf8)
        JSONValue.string(self.entity).write(to: &out)
        out.append(contentsOf: #","attribute":"#.utf8)
        JSONValue.string(self.attribute).write(to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.string(self.type.rawValue).write(to: &out)
        out.append(contentsOf: #","points":["#.utf8)
        for (index, (time, value)) in zip(self.times, self.values).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"ts":""#.utf8)
            Timestamps.write(micros: time, to: &out)
            out.append(contentsOf: #"","value":"#.utf8)
            value.write(to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"next_cursor":"#.utf8)
        (self.nextCursor.map(JSONValue.string) ?? .null).write(to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
