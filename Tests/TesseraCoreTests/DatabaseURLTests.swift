import Testing

@testable import TesseraCore

@Suite struct DatabaseURLTests {
    @Test func parsesAFullURL() throws {
        let url = try DatabaseURL(parsing: "postgres://app:s%40cret@db.example.com:6432/telemetry?sslmode=require")
        #expect(url.host == "db.example.com")
        #expect(url.port == 6432)
        #expect(url.username == "app")
        #expect(url.password == "s@cret")
        #expect(url.database == "telemetry")
        #expect(url.tls == .require)
    }

    @Test func appliesDefaults() throws {
        let url = try DatabaseURL(parsing: "postgresql://localhost")
        #expect(url.port == 5432)
        #expect(url.username == "postgres")
        #expect(url.password == nil)
        #expect(url.database == "postgres")
        #expect(url.tls == .prefer)
    }

    @Test func roundTripsAndMasksThePassword() throws {
        let url = try DatabaseURL(parsing: "postgres://tessera:p%2Fw@127.0.0.1:5555/tessera?sslmode=disable")
        #expect(try DatabaseURL(parsing: url.urlString) == url)
        #expect(!url.description.contains("p%2Fw"))
        #expect(url.description.contains("%2A%2A%2A%2A") || url.description.contains("****"))
    }

    @Test func verifyingModesKeepTheirMeaningAndTheirCA() throws {
        let url = try DatabaseURL(parsing: "postgres://app@db.example.com/t?sslmode=verify-full&sslrootcert=/etc/ssl/rds%20ca.pem")
        #expect(url.tls == .verifyFull)
        #expect(url.rootCertificate == "/etc/ssl/rds ca.pem")
        #expect(try DatabaseURL(parsing: url.urlString) == url)
        #expect(try DatabaseURL(parsing: "postgres://h/d?sslmode=verify-ca").tls == .verifyCA)
        #expect(try DatabaseURL(parsing: "postgres://h/d?sslmode=verify-full&sslrootcert=system").rootCertificate == nil)
    }

    @Test(arguments: ["mysql://x", "postgres://host:99999/db", "postgres://host:abc/db", "postgres:///db", "postgres://h/db?sslmode=maybe"])
    func rejectsBadURLs(_ text: String) {
        #expect(throws: TesseraError.self) { try DatabaseURL(parsing: text) }
    }
}

@Suite struct APIKeyTests {
    @Test func generatedKeysHaveTheDocumentedShapeAndDiffer() {
        let first = APIKey.generate()
        let second = APIKey.generate()
        #expect(first != second)
        #expect(APIKey.looksValid(first.value))
        #expect(first.value.hasPrefix("tsk_"))
        #expect(first.value.count == 44)
        #expect(first.displayPrefix.count == 10)
    }

    @Test(arguments: ["", "tsk_", "tsk_short", "Bearer tsk_" + String(repeating: "a", count: 40), "tsk_" + String(repeating: "!", count: 40)])
    func rejectsMalformedKeys(_ text: String) {
        #expect(!APIKey.looksValid(text))
    }
}
