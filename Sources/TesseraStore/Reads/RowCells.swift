import PostgresNIO

/// The cells of one row in order, each decoded to a concrete type. The variadic
/// `decode((A, B, …).self)` looks up generic metadata on every row, which a
/// 10,000-point series page pays for visibly.
struct RowCells {
    private var cells: PostgresRow.Iterator

    init(_ row: PostgresRow) {
        self.cells = row.makeIterator()
    }

    mutating func next<T: PostgresDecodable>(_ type: T.Type) throws -> T {
        guard let cell = self.cells.next() else { throw MissingColumn() }
        return try cell.decode(type)
    }

    /// The query returned fewer columns than its reader expects: a bug, not bad input.
    struct MissingColumn: Error {}
}
