import NIOSSL
import PostgresNIO
import TesseraCore

extension PostgresConnection.Configuration {
    /// A single connection's configuration for a database URL, its `sslmode` and
    /// `sslrootcert` included. Throws when the CA file cannot be read.
    package init(url: DatabaseURL) throws {
        let tls: PostgresConnection.Configuration.TLS =
            switch (url.tls, url.clientTLS) {
            case (_, nil): .disable
            case (.prefer, let configuration?): .prefer(try NIOSSLContext(configuration: configuration))
            case (_, let configuration?): .require(try NIOSSLContext(configuration: configuration))
            }
        self.init(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls)
        self.options.connectTimeout = .seconds(5)
    }
}
