import Testing

@testable import TesseraCore

@Suite struct NameRulesTests {
    @Test func acceptsOrdinaryNames() throws {
        try NameRules.validateAttributeName("temperature")
        try NameRules.validateAttributeName("PM2.5")
        try NameRules.validateEntityKey("weather,station=Dongsi")
        try NameRules.validateEntityKey("température/salle 3")
        try NameRules.validateEntityKey("~")
        #expect(NameRules.isPlainASCII("air_quality,station=Dongsi"))
        #expect(!NameRules.isPlainASCII("température"), "non-ASCII names take the Unicode checks")
    }

    @Test(arguments: [
        "", " lead", "trail ", "tab\tinside", "nl\ninside", "nul\u{0}", "del\u{7F}", "c1\u{85}", "ls\u{2028}", "wide space\u{3000}", "\u{A0}nbsp", " ",
    ])
    func rejectsBadAttributeNames(_ name: String) {
        #expect(throws: TesseraError.self) { try NameRules.validateAttributeName(name) }
        do {
            try NameRules.validateAttributeName(name)
        } catch {
            #expect(error.code == .invalidName)
            #expect(!error.detail.contains(where: { $0.unicodeScalars.contains(where: NameRules.isForbidden) }))
        }
    }

    @Test func limitsLengthInUTF8Bytes() throws {
        try NameRules.validateAttributeName(String(repeating: "a", count: 128))
        #expect(throws: TesseraError.self) { try NameRules.validateAttributeName(String(repeating: "a", count: 129)) }
        // 43 × 3-byte characters = 129 bytes, only 43 characters.
        #expect(throws: TesseraError.self) { try NameRules.validateAttributeName(String(repeating: "€", count: 43)) }
        try NameRules.validateEntityKey(String(repeating: "k", count: 256))
        #expect(throws: TesseraError.self) { try NameRules.validateEntityKey(String(repeating: "k", count: 257)) }
    }

    @Test func printableEscapesControlsAndTruncates() {
        #expect(NameRules.printable("a\u{1}b") == "a\\u{0001}b")
        #expect(NameRules.printable(String(repeating: "x", count: 100), limit: 5) == "xxxxx…")
    }

    @Test func freeTextAllowsNewlinesInDescriptions() throws {
        try NameRules.validateFreeText("line one\nline two\tend", field: "description", maxLength: 100)
        #expect(throws: TesseraError.self) { try NameRules.validateFreeText("bell\u{7}", field: "unit", maxLength: 100) }
    }
}

@Suite struct ValueTypeTests {
    @Test func parsesEveryDocumentedType() throws {
        for name in ["int", "decimal", "text", "bool", "timestamp", "json"] {
            #expect(try ValueType(parsing: name).rawValue == name)
        }
    }

    @Test func rejectsUnknownTypesWithTheList() {
        do {
            _ = try ValueType(parsing: "float")
            Issue.record("float was accepted")
        } catch {
            #expect(error.code == .unknownValueType)
            #expect(error.detail.contains("decimal"))
        }
    }

    @Test func everyErrorCodeHasAClientStatus() {
        for code in TesseraError.Code.allCases where code != .internalError {
            #expect(code.httpStatus != 500)
        }
        #expect(TesseraError.Code.attributeTypeConflict.httpStatus == 409)
        #expect(TesseraError.Code.bodyTooLarge.httpStatus == 413)
    }
}
