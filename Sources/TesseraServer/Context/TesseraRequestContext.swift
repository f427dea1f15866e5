import Foundation
import Hummingbird
import TesseraCore

/// Per-request state: Hummingbird's core context plus the authenticated tenant.
package struct TesseraRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// Set by `TenantAuthMiddleware` for tenant-scoped routes (and told to `trace`).
    package var tenant: Tenant? {
        didSet { self.trace.tenantID = self.tenant?.id }
    }
    /// Shared by every copy of this request's context: what the access log reports.
    package let trace = RequestTrace()
    /// The key the request authenticated with (which one, its scope); with `tenant`.
    package var keyGrant: KeyGrant?
    /// The request's id: the client's `X-Request-Id` when it sent a usable one, else made
    /// here (`RequestIDMiddleware`); answered in `X-Request-Id`, logged, audited.
    package var requestID: String
    /// The peer's address, when the connection has one.
    package var clientAddress: String?
    /// When the server received the request.
    package var receivedAt: Date

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.tenant = nil
        self.keyGrant = nil
        self.requestID = RequestID.make()
        self.clientAddress = source.channel.remoteAddress?.ipAddress
        self.receivedAt = Date()
    }

    package var responseEncoder: JSONEncoder { JSONCoding.encoder }
    package var requestDecoder: JSONDecoder { JSONCoding.decoder }

    /// The tenant of a tenant-scoped route; the auth middleware guarantees it.
    package func requireTenant() throws(TesseraError) -> Tenant {
        guard let tenant else { throw TesseraError(.unauthorized, "This endpoint needs a tenant API key.") }
        return tenant
    }
}

/// The JSON coders of the API: ISO 8601 dates, sorted keys for stable output.
package enum JSONCoding {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    package static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
