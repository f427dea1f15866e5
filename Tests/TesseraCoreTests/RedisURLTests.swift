import Testing

@testable import TesseraCore

@Suite struct RedisURLTests {
    @Test func parsesAnACLUserWithTLS() throws {
        let url = try RedisURL(parsing: "rediss://app:s%40cret%3A1@cache.abc123.use1.cache.amazonaws.com:6380/3")
        #expect(url.host == "cache.abc123.use1.cache.amazonaws.com")
        #expect(url.port == 6380)
        #expect(url.username == "app")
        #expect(url.password == "s@cret:1")
        #expect(url.database == 3)
        #expect(url.tls)
    }

    @Test func aPasswordAloneAuthenticatesAsTheDefaultUser() throws {
        let url = try RedisURL(parsing: "redis://:p%2Fw@127.0.0.1:7000/0")
        #expect(url.username == nil)
        #expect(url.password == "p/w")
        #expect(url.port == 7000)
        #expect(!url.tls)
    }

    @Test func appliesDefaults() throws {
        let url = try RedisURL(parsing: "redis://localhost")
        #expect(url == RedisURL(host: "localhost"))
        #expect(url.port == 6379)
        #expect(url.database == 0)
        #expect(url.password == nil)
        #expect(try RedisURL(parsing: "redis://localhost/") == url)
    }

    @Test func parsesIPv6Hosts() throws {
        let url = try RedisURL(parsing: "redis://[::1]:6390/2")
        #expect(url.host == "::1")
        #expect(url.port == 6390)
        #expect(url.database == 2)
        #expect(try RedisURL(parsing: "redis://[::1]").port == 6379)
    }

    @Test func roundTripsAndMasksThePassword() throws {
        for text in ["redis://:p%2Fw@127.0.0.1:5555/0", "rediss://us%20er:x%25y@[::1]:6380/15", "redis://h:1/4"] {
            let url = try RedisURL(parsing: text)
            #expect(try RedisURL(parsing: url.urlString) == url)
            if let password = url.password {
                #expect(!url.description.contains(password))
                #expect(url.description.contains("****"))
            }
        }
    }

    @Test(arguments: [
        "http://x", "redis:/x", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:abc",
        "redis://h/16", "redis://h/-1", "redis://h/x", "redis://h/0?timeout=1", "redis://user@h",
        "redis://:@h", "redis://:%zz@h", "redis://[::1", "redis://[::1]x",
    ])
    func rejectsBadURLs(_ text: String) {
        #expect(throws: TesseraError.self) { try RedisURL(parsing: text) }
    }

    @Test func errorsSayWhatIsWrong() {
        #expect { try RedisURL(parsing: "redis://h/16") } throws: { ($0 as? TesseraError)?.detail.contains("0 to 15") == true }
        #expect { try RedisURL(parsing: "memcached://h") } throws: { ($0 as? TesseraError)?.detail.contains("rediss://") == true }
    }
}
