import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Drives the real router against the real test database.
enum APITester {
    static let adminToken = "tadm_test_0123456789abcdefghijklmnopqrstuv"

    static func run(
        ingest: IngestPipeline.Configuration = .init(writers: 1),
        maxIngestBodyBytes: Int = 8 << 20,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await self.run(ingest: ingest, maxIngestBodyBytes: maxIngestBodyBytes) { client, _ in try await body(client) }
    }

    /// Also hands over the dependencies, for tests that look behind the API. The server
    /// connects to `primary` as `tessera_app`, or to `serverURL` as given (a pooler); the
    /// test's own client is `primary`'s superuser.
    static func run(
        ingest: IngestPipeline.Configuration = .init(writers: 1),
        maxIngestBodyBytes: Int = 8 << 20,
        primary: DatabaseURL? = nil,
        serverURL: DatabaseURL? = nil,
        readTopology: ServerDependencies.ReadTopology = .init(poolSize: 4),
        cache: ServerDependencies.CacheSettings? = nil,
        overHTTP: Bool = false,
        tenantLimits: TenantLimits = TenantLimits(),
        resolverRules: IngestResolver.Rules = .init(),
        tls: ServerTLS? = nil,
        privacy: ServerDependencies.PrivacySettings? = nil,
        retention: RetentionService.Configuration? = nil,
        archivedMonthsTTL: Duration = .seconds(5),
        clusterServices: [any Service] = [],
        within: Duration = .seconds(120),
        logger: Logger = quietLogger,
        _ body: @escaping @Sendable (any TestClientProtocol, TestServerDependencies) async throws -> Void
    ) async throws {
        let url: DatabaseURL
        if let primary { url = primary } else { url = try await TestCluster.primaryURL() }
        // The server connects as tessera_app, under row-level security, as `tessera serve` does.
        var readTopology = readTopology
        readTopology.replicas = readTopology.replicas.map(ServerRole.url(for:))
        let dependencies = try ServerDependencies(
            primaryURL: serverURL ?? ServerRole.url(for: url),
            poolSize: 4,
            ingest: ingest,
            resolverRules: resolverRules,
            maxIngestBodyBytes: maxIngestBodyBytes,
            tenantLimits: tenantLimits,
            readTopology: readTopology,
            cache: cache,
            privacy: privacy,
            retention: retention,
            archivedMonthsTTL: archivedMonthsTTL,
            clusterServices: clusterServices,
            metrics: PrometheusCollectorRegistry(),
            logger: quietLogger
        )
        let app = buildApplication(
            configuration: .init(adminToken: self.adminToken, maxBodyBytes: 64 * 1024, tls: tls),
            dependencies: dependencies,
            logger: logger
        )
        // `overHTTP`: a real server on a free port and real connections, so the handlers
        // run where the server runs them (on their connection's event loop); otherwise
        // the router is called directly. With `tls` the framework's client speaks plain
        // HTTP to an HTTPS port: the test brings a client of its own.
        try await withTestClient(url: url, within: within) { superuser in
            let inspected = TestServerDependencies(server: dependencies, primary: superuser)
            try await app.test(overHTTP || tls != nil ? .live : .router) { client in try await body(client, inspected) }
        }
    }
}

/// A test server's dependencies, as the test sees them: everything the server has, but
/// `primary` is the superuser's pool on the same database, so that what a test checks
/// behind the API (stored rows, staging, quarantine) is not walled in by row-level
/// security. The server's own pool is `server.primary`.
@dynamicMemberLookup
struct TestServerDependencies: Sendable {
    let server: ServerDependencies
    let primary: PostgresClient

    subscript<Value>(dynamicMember keyPath: KeyPath<ServerDependencies, Value>) -> Value {
        self.server[keyPath: keyPath]
    }
}

struct Tenant: Sendable {
    var id: Int
    var name: String
    var key: String
}

extension TestClientProtocol {
    /// Sends a request; `key` goes in `Authorization: Bearer`. Fails after two minutes.
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        key: String? = nil,
        json: String? = nil,
        contentType: String? = "application/json",
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil, let contentType { headers[.contentType] = contentType }
        let body = json.map { ByteBuffer(string: $0) }
        let fields = headers
        // A request that never answers fails its test instead of holding the whole run.
        return try await Deadline.run(within: .seconds(120), "\(method) \(uri)") {
            try await self.execute(uri: uri, method: method, headers: fields, body: body)
        }
    }

    /// A new tenant; `settings` is more members of the creation body (`"max_entities": 3`).
    func createTenant(_ prefix: String = "t", settings: String = "") async throws -> Tenant {
        let name = "\(prefix)-\(UUID().uuidString.prefix(12))"
        let extra = settings.isEmpty ? "" : ", " + settings
        let response = try await self.send(.post, "/v1/tenants", key: APITester.adminToken, json: #"{"name": "\#(name)"\#(extra)}"#)
        #expect(response.status == .created)
        let body = try response.object()
        return Tenant(id: try #require(body["id"] as? Int), name: name, key: try #require(body["api_key"] as? String))
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(self.body.readableBytesView))
        return try #require(value as? [String: Any])
    }

    var text: String { String(buffer: self.body) }

    /// Checks this is a problem document with the code and status, and returns its detail.
    @discardableResult
    func expectProblem(_ code: String, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(self.status == status, "status for \(code): \(self.text)", sourceLocation: sourceLocation)
        #expect(self.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let body = try self.object()
        #expect(body["code"] as? String == code, "body: \(self.text)", sourceLocation: sourceLocation)
        #expect(body["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
        #expect(body["type"] as? String == "urn:tessera:problem:\(code)", sourceLocation: sourceLocation)
        let detail = body["detail"] as? String ?? ""
        #expect(!detail.isEmpty, sourceLocation: sourceLocation)
        return detail
    }
}
