/// One JSON object of a query body, read strictly: a repeated key or an unknown
/// key is an error that names its path, so a typo never silently widens a query.
struct BodyObject {
    /// Where the object sits in the body, like `filter.and[1]`; empty for the body itself.
    let path: String
    private let members: [(String, JSONValue)]

    /// `name` says what the value is in an error, like `The request body` or `filter.and[1]`.
    init(_ value: JSONValue, path: String, name: String) throws(TesseraError) {
        guard case .object(let members) = value else {
            throw TesseraError(.invalidBody, "\(name) must be a JSON object, not \(Self.describe(value)).")
        }
        self.path = path
        self.members = members
        var seen = Set<String>()
        for (key, _) in members where !seen.insert(key).inserted {
            throw TesseraError(.invalidBody, "\(self.path(Self.printable(key))) appears more than once.")
        }
    }

    var keys: [String] { self.members.map(\.0) }

    var isEmpty: Bool { self.members.isEmpty }

    /// The member, `null` included; nil when the key is absent.
    subscript(key: String) -> JSONValue? {
        self.members.first { $0.0 == key }?.1
    }

    /// The member, with `null` read as absent: for optional fields.
    func optional(_ key: String) -> JSONValue? {
        switch self[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    /// The path of a member, like `filter.and[1].op`.
    func path(_ key: String) -> String {
        self.path.isEmpty ? key : "\(self.path).\(key)"
    }

    /// Throws for the first key not in `allowed`; `expecting` ends the message, like
    /// `the body takes filter, limit and cursor`.
    func rejectUnknown(allowed: [String], expecting: String) throws(TesseraError) {
        if let key = self.keys.first(where: { !allowed.contains($0) }) {
            throw TesseraError(.invalidBody, "\(self.path(Self.printable(key))) is not a known field; \(expecting).")
        }
    }

    /// A JSON value as an error message shows it: short scalars verbatim, containers by kind.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let bool): bool ? "true" : "false"
        case .number(let literal, _): Self.printable(literal)
        case .string(let text): "\"\(Self.printable(text))\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Untrusted text made safe and short for an error message.
    static func printable(_ text: String) -> String {
        NameRules.printable(text, limit: 48)
    }

    /// True for a number literal that is a finite double (JSON allows `1e999`).
    /// A number a query may compare with: a finite double that PostgreSQL's `jsonb` holds.
    static func isFinite(_ literal: String) -> Bool {
        (Double(literal)?.isFinite ?? false) && JSONNumberText.fitsJSONB(literal)
    }
}
