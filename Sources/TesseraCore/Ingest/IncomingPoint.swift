/// A point as a client sent it, before its entity and attribute are resolved:
/// names as text and a value whose type is decided against the attribute.
package struct IncomingPoint: Sendable, Equatable {
    package var entityKey: String
    package var attribute: String
    package var value: IncomingValue
    /// Microseconds since 1970; nil means "now" (arrival time).
    package var timestamp: Int64?
    /// Position in the request (array index, NDJSON line number or line-protocol line).
    package var index: Int

    package init(entityKey: String, attribute: String, value: IncomingValue, timestamp: Int64?, index: Int) {
        self.entityKey = entityKey
        self.attribute = attribute
        self.value = value
        self.timestamp = timestamp
        self.index = index
    }
}

/// A value as it arrived: from JSON (typed by its literal) or from line protocol (typed by its suffix).
package enum IncomingValue: Sendable, Equatable {
    case json(JSONValue)
    case lineProtocol(LineProtocolValue)
}

/// A point ready for the store: ids resolved, value typed, time fixed.
package struct IngestRow: Sendable, Equatable {
    package var tenantID: Int64
    package var entityID: Int64
    package var attributeID: Int32
    package var value: PointValue
    /// Microseconds since 1970.
    package var timestamp: Int64

    package init(tenantID: Int64, entityID: Int64, attributeID: Int32, value: PointValue, timestamp: Int64) {
        self.tenantID = tenantID
        self.entityID = entityID
        self.attributeID = attributeID
        self.value = value
        self.timestamp = timestamp
    }
}

/// A point the server refused, and why; the rest of its request is kept.
package struct PointRejection: Sendable, Equatable {
    /// The point's position: its index in a JSON `points` array, or its 1-based line.
    package var index: Int
    package var code: String
    package var detail: String

    package init(index: Int, code: String, detail: String) {
        self.index = index
        self.code = code
        self.detail = detail
    }

    package init(index: Int, _ error: TesseraError) {
        self.init(index: index, code: error.code.rawValue, detail: error.detail)
    }
}
