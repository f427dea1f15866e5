/// A Redis URL, `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS
/// (ElastiCache with in-transit encryption), parsed without I/O.
///
/// `redis://:secret@host` authenticates with the password alone (`AUTH secret`);
/// `redis://app:secret@host` as an ACL user (`AUTH app secret`). User and password are
/// percent-decoded. The database is 0 to 15 (Redis' default of 16 databases).
package struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// The ACL user; nil authenticates as `default` (password only) or not at all.
    package var username: String?
    package var password: String?
    package var database: Int
    /// `rediss://`: TLS to the server.
    package var tls: Bool

    package static let defaultPort = 6379
    package static let databases = 0...15

    package init(
        host: String,
        port: Int = RedisURL.defaultPort,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: Bool = false
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    package init(parsing text: String) throws(TesseraError) {
        let tls: Bool
        var rest: Substring
        if text.hasPrefix("redis://") {
            tls = false
            rest = text.dropFirst("redis://".count)
        } else if text.hasPrefix("rediss://") {
            tls = true
            rest = text.dropFirst("rediss://".count)
        } else {
            throw TesseraError(.invalidParameter, "A Redis URL must start with redis:// or rediss:// (TLS).")
        }
        if rest.contains("?") || rest.contains("#") {
            throw TesseraError(.invalidParameter, "A Redis URL takes no query or fragment: redis://[user[:password]@]host[:port][/db].")
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }

        var host = rest
        var port = Self.defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw TesseraError(.invalidParameter, "The Redis URL's IPv6 host has no closing ']'.")
            }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw TesseraError(.invalidParameter, "The Redis URL has text after its IPv6 host that is not a port.")
                }
                port = try Self.port(after.dropFirst())
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: ":") {
            port = try Self.port(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        guard !host.isEmpty else {
            throw TesseraError(.invalidParameter, "The Redis URL names no host.")
        }

        var database = 0
        if let path, !path.isEmpty {
            guard let number = Int(path), Self.databases.contains(number) else {
                throw TesseraError(.invalidParameter, "The Redis URL's database (after the '/') must be a number from 0 to 15.")
            }
            database = number
        }

        var username: String?
        var password: String?
        if let userInfo {
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw TesseraError(
                    .invalidParameter,
                    "The Redis URL names a user but no password; write redis://user:password@host, or redis://:password@host for a password alone."
                )
            }
            let user = try Self.percentDecoded(userInfo[..<colon], what: "user")
            username = user.isEmpty ? nil : user
            password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "password")
            if password!.isEmpty {
                throw TesseraError(.invalidParameter, "The Redis URL has an empty password; leave out the user part to connect without AUTH.")
            }
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database, tls: tls)
    }

    /// The URL as text, with the password included (for status output).
    package var urlString: String {
        var text = self.tls ? "rediss://" : "redis://"
        if let password {
            text += (self.username.map(URLPercentEncoding.encode) ?? "") + ":" + URLPercentEncoding.encode(password) + "@"
        }
        text += self.host.contains(":") ? "[\(self.host)]" : self.host
        text += ":\(self.port)/\(self.database)"
        return text
    }

    /// The URL with the password masked: safe for logs.
    package var description: String {
        var copy = self
        if copy.password != nil { copy.password = "****" }
        return copy.urlString.replacingOccurrences(of: "%2A%2A%2A%2A", with: "****")
    }

    private static func port(_ text: Substring) throws(TesseraError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw TesseraError(.invalidParameter, "The Redis URL's port is not a number from 1 to 65535.")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(TesseraError) -> String {
        var bytes = [UInt8]()
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next(), let low = utf8.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else {
                throw TesseraError(.invalidParameter, "The Redis URL's \(what) has a '%' not followed by two hex digits.")
            }
            bytes.append(value)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw TesseraError(.invalidParameter, "The Redis URL's \(what) is not UTF-8 once percent-decoded.")
        }
        return decoded
    }
}
