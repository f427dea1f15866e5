/// The environment variables Tessera reads, read once at the edge. Every one is
/// listed, with its default, in the README.
struct TesseraEnvironment {
    var directory: String
    var databaseURL: String?
    var adminToken: String?
    var host: String
    var port: Int
    var logLevel: String
    var postgresBinDirectory: String?
    var poolSize: Int
    var maxBodyBytes: Int
    var maxIngestBodyBytes: Int

    init(_ environment: [String: String]) {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        self.directory = value("TESSERA_DIR") ?? ".tessera"
        self.databaseURL = value("TESSERA_DATABASE_URL")
        self.adminToken = value("TESSERA_ADMIN_TOKEN")
        self.host = value("TESSERA_HOST") ?? "127.0.0.1"
        self.port = value("TESSERA_PORT").flatMap(Int.init) ?? 8080
        self.logLevel = value("TESSERA_LOG_LEVEL") ?? "info"
        self.postgresBinDirectory = value("TESSERA_PG_BINDIR")
        self.poolSize = value("TESSERA_DB_POOL_SIZE").flatMap(Int.init) ?? 20
        self.maxBodyBytes = value("TESSERA_MAX_BODY_BYTES").flatMap(Int.init) ?? 1 << 20
        self.maxIngestBodyBytes = value("TESSERA_MAX_INGEST_BODY_BYTES").flatMap(Int.init) ?? 256 << 20
    }
}
