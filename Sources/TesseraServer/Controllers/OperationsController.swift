import Hummingbird
import NIOCore
import Prometheus
import TesseraCore
import TesseraStore

/// `/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus poll.
struct OperationsController {
    let migrator: Migrator
    /// The database's `health_check()`, shown by `/readyz`.
    let health: HealthCache
    let metrics: PrometheusCollectorRegistry
    /// Records the gauges that age between events, before each scrape.
    let refresh: @Sendable () -> Void

    struct Status: ResponseEncodable {
        var status: String
        var schemaVersion: Int?
        /// The worst of the checks: ok, warn or fail.
        var health: String?
        var checks: [HealthReport.Check]?

        enum CodingKeys: String, CodingKey {
            case status
            case schemaVersion = "schema_version"
            case health
            case checks
        }
    }

    func addRoutes(to router: Router<TesseraRequestContext>) {
        router.get("healthz", use: self.health)
        router.get("readyz", use: self.ready)
        router.get("metrics", use: self.prometheus)
    }

    /// The process is up and serving.
    @Sendable func health(_ request: Request, context: TesseraRequestContext) async throws -> Status {
        Status(status: "ok", schemaVersion: nil)
    }

    /// The database is reachable and at this build's schema: 200, with `health_check()`'s
    /// checks (an operator's alarms, which do not take the server out of service), or 503.
    @Sendable func ready(_ request: Request, context: TesseraRequestContext) async throws -> Status {
        do {
            try await self.migrator.verifyCurrent()
        } catch let error as StoreError {
            throw TesseraError(.notReady, error.description)
        } catch {
            context.logger.warning("Readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
            throw TesseraError(.notReady, "The database is not reachable.")
        }
        let report = await self.health.report(logger: context.logger)
        return Status(status: "ready", schemaVersion: self.migrator.buildVersion, health: report?.worstStatus, checks: report?.checks)
    }

    @Sendable func prometheus(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        var buffer = [UInt8]()
        buffer.reserveCapacity(16_384)
        self.refresh()
        self.metrics.emit(into: &buffer)
        ProcessMetrics.emit(into: &buffer)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer))
        )
    }
}
