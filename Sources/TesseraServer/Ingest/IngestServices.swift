import TesseraStore

/// What the ingest endpoints write through.
package struct IngestServices: Sendable {
    package var resolver: IngestResolver
    package var pipeline: IngestPipeline
    package var safeWriter: SafeWriter
    /// Largest ingest body, streamed (default 256 MiB).
    package var maxBodyBytes: Int
    /// Points per second and requests in flight, per tenant.
    package var limits: TenantLimits

    package init(
        resolver: IngestResolver,
        pipeline: IngestPipeline,
        safeWriter: SafeWriter,
        maxBodyBytes: Int = 256 << 20,
        limits: TenantLimits = TenantLimits()
    ) {
        self.resolver = resolver
        self.pipeline = pipeline
        self.safeWriter = safeWriter
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
    }
}
