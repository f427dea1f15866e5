/// What an API key may do, within its own tenant. Each scope includes the ones below it:
/// `read` reads; `write` also writes (ingest, entities, attributes); `admin` also manages
/// the tenant's keys.
package enum KeyScope: String, Sendable, Codable, CaseIterable, Comparable {
    case read
    case write
    case admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }

    package static func < (lhs: KeyScope, rhs: KeyScope) -> Bool { lhs.rank < rhs.rank }

    /// Whether a key of this scope may do what needs `needed`.
    package func allows(_ needed: KeyScope) -> Bool { self >= needed }

    /// Parses `read`, `write` or `admin`; anything else is a 400 that lists them.
    package init(parsing text: String) throws(TesseraError) {
        guard let scope = KeyScope(rawValue: text) else {
            throw TesseraError(.invalidBody, "'scope' must be one of read, write, admin; got '\(NameRules.printable(text))'.")
        }
        self = scope
    }
}

/// The key a request authenticated with: which one, and what it may do.
package struct KeyGrant: Sendable, Equatable {
    package var keyID: Int64
    package var scope: KeyScope

    package init(keyID: Int64, scope: KeyScope) {
        self.keyID = keyID
        self.scope = scope
    }
}
