/// A PostgreSQL connection URL, `postgres://user:password@host:port/database?sslmode=...`,
/// parsed without I/O. `postgresql://` is accepted too.
///
/// `sslmode` means what it means to libpq: `prefer` and `require` encrypt without
/// checking who answers; `verify-ca` checks the server's certificate against the CA in
/// `sslrootcert` (a PEM file; the system's CAs without it), `verify-full` also that it
/// names the host.
package struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var username: String
    package var password: String?
    package var database: String
    package var tls: TLSMode
    /// `sslrootcert`: the PEM file of the CA(s) a `verify-ca`/`verify-full` server
    /// certificate must chain to; nil (or `system`): the system's.
    package var rootCertificate: String?
    /// What sits between Tessera and the database: nothing (or a pooler that gives each
    /// client connection its own session), or a transaction pooler (pgbouncer with
    /// `pool_mode = transaction`, RDS Proxy) that may run each transaction on another
    /// server connection. Behind one, Tessera keeps no state on a session: no session
    /// settings, no startup parameters the pooler refuses, no named prepared statements.
    /// Not part of the URL's text (libpq would refuse it): `TESSERA_DB_POOLING` sets it.
    package var pooling: Pooling = .none

    package enum Pooling: String, Sendable {
        case none
        case transaction
    }

    package enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    package init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String? = nil,
        database: String,
        tls: TLSMode = .disable,
        rootCertificate: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    package init(parsing text: String) throws(TesseraError) {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }) else {
            throw TesseraError(.invalidParameter, "A database URL must start with postgres:// or postgresql://.")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var host = rest
        var port = 5432
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw TesseraError(.invalidParameter, "The database URL's port is not a number from 1 to 65535.")
            }
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        }
        guard !host.isEmpty else {
            throw TesseraError(.invalidParameter, "The database URL names no host.")
        }
        var username = "postgres"
        var password: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                username = Self.percentDecoded(userInfo[..<colon])
                password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                username = Self.percentDecoded(userInfo)
            }
        }
        var tls = TLSMode.prefer
        var rootCertificate: String?
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "sslmode", "tls":
                switch pair[1] {
                case "disable", "false": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "true": tls = .require
                case "verify-ca": tls = .verifyCA
                case "verify-full": tls = .verifyFull
                default:
                    throw TesseraError(.invalidParameter, "Unknown sslmode '\(NameRules.printable(String(pair[1])))' in the database URL.")
                }
            case "sslrootcert":
                let path = Self.percentDecoded(pair[1])
                rootCertificate = path == "system" ? nil : path
            default:
                continue
            }
        }
        let database = path.isEmpty ? username : Self.percentDecoded(path)
        self.init(
            host: String(host),
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls,
            rootCertificate: rootCertificate
        )
    }

    /// The URL as text, with the password included (for configuration files and status output).
    package var urlString: String {
        var text = "postgres://" + URLPercentEncoding.encode(self.username)
        if let password { text += ":" + URLPercentEncoding.encode(password) }
        text += "@\(self.host.contains(":") ? "[\(self.host)]" : self.host):\(self.port)/" + URLPercentEncoding.encode(self.database)
        var parameters = [String]()
        if self.tls != .prefer { parameters.append("sslmode=\(self.tls.rawValue)") }
        if let rootCertificate { parameters.append("sslrootcert=" + URLPercentEncoding.encode(rootCertificate)) }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    /// The URL with the password masked: safe for logs.
    package var description: String {
        var copy = self
        if copy.password != nil { copy.password = "****" }
        return copy.urlString
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes = [UInt8]()
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == UInt8(ascii: "%"), let high = utf8.next(), let low = utf8.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
