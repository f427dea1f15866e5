import PostgresNIO
import TesseraCore

/// Turns an `EntityFilter` into a SQL condition over `entity_jsonb AS j`, every
/// value a bind. Equality uses containment (`@>`), which the GIN
/// `jsonb_path_ops` index answers; ordering comparisons use a jsonpath filter,
/// which compares numbers with numbers and strings with strings and is false
/// for a value of another type (never an error).
struct EntityFilterSQL {
    private(set) var bindings = PostgresBindings()
    private var count = 0

    init(startingAfter existingBinds: Int) {
        self.count = existingBinds
    }

    /// Binds must already hold `existingBinds` values; returns the SQL text of the condition.
    static func condition(for filter: EntityFilter, appendingTo bindings: inout PostgresBindings, existingBinds: Int) -> String {
        var builder = EntityFilterSQL(startingAfter: existingBinds)
        builder.bindings = bindings
        let sql = builder.sql(filter)
        bindings = builder.bindings
        return sql
    }

    private mutating func bind(_ value: String) -> String {
        self.bindings.append(value)
        self.count += 1
        return "$\(self.count)"
    }

    private mutating func sql(_ filter: EntityFilter) -> String {
        switch filter {
        case .and(let children):
            return "(" + children.map { self.sql($0) }.joined(separator: " AND ") + ")"
        case .or(let children):
            return "(" + children.map { self.sql($0) }.joined(separator: " OR ") + ")"
        case .condition(let attribute, let op, let value):
            return self.condition(attribute: attribute, op: op, value: value)
        }
    }

    private mutating func condition(attribute: String, op: FilterOperator, value: JSONValue?) -> String {
        switch op {
        case .exists:
            return "(j.attrs ? \(self.bind(attribute)))"
        case .eq:
            return "(j.attrs @> \(self.bind(Self.document(attribute, value ?? .null)))::jsonb)"
        case .ne:
            let key = self.bind(attribute)
            return "(j.attrs ? \(key) AND NOT j.attrs @> \(self.bind(Self.document(attribute, value ?? .null)))::jsonb)"
        case .in:
            let key = self.bind(attribute)
            return "(\(self.bind((value ?? .array([])).jsonText))::jsonb @> (j.attrs -> \(key)))"
        case .lt, .le, .gt, .ge:
            let key = self.bind(attribute)
            let operand = self.bind(JSONValue.object([("v", value ?? .null)]).jsonText)
            return "jsonb_path_exists(j.attrs -> \(key), '$ ? (@ \(op.rawValue) $v)', \(operand)::jsonb)"
        }
    }

    private static func document(_ attribute: String, _ value: JSONValue) -> String {
        JSONValue.object([(attribute, value)]).jsonText
    }
}
