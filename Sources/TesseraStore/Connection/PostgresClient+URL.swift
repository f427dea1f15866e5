import Logging
import PostgresNIO
import TesseraCore

extension PostgresClient.Configuration {
    /// A pool configuration for a database URL.
    package init(url: DatabaseURL, maximumConnections: Int = 20) {
        let tls: PostgresClient.Configuration.TLS =
            switch (url.tls, url.clientTLS) {
            case (_, nil): .disable
            case (.prefer, let configuration?): .prefer(configuration)
            case (_, let configuration?): .require(configuration)
            }
        self.init(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls)
        self.options.maximumConnections = maximumConnections
        self.options.connectTimeout = .seconds(5)
    }
}
