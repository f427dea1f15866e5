import TesseraCore

/// A tenant's attributes by name, names compared as bytes (`ExactKey`): two names
/// that differ only in Unicode normalisation are two attributes, as in the database.
package struct AttributesByName: Sendable, ExpressibleByDictionaryLiteral {
    private var byKey: [ExactKey: Attribute]

    package init(_ attributes: some Sequence<Attribute>) {
        var byKey = [ExactKey: Attribute]()
        for attribute in attributes { byKey[ExactKey(attribute.definition.name)] = byKey[ExactKey(attribute.definition.name)] ?? attribute }
        self.byKey = byKey
    }

    package init(dictionaryLiteral elements: (String, Attribute)...) {
        self.byKey = Dictionary(elements.map { (ExactKey($0.0), $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    package subscript(name: String) -> Attribute? {
        self.byKey[ExactKey(name)]
    }

    package var count: Int { self.byKey.count }

    /// Whether every name in `names` is here.
    package func containsAll(_ names: some Sequence<String>) -> Bool {
        names.allSatisfy { self.byKey[ExactKey($0)] != nil }
    }
}
