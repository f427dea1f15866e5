import Foundation
import Hummingbird
import TesseraCore

/// Per-request state: Hummingbird's core context plus the authenticated tenant.
package struct TesseraRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// Set by `TenantAuthMiddleware` for tenant-scoped routes.
    package var tenant: Tenant?
    /// The key the request authenticated with (which one, its scope); with `tenant`.
    package var keyGrant: KeyGrant?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.tenant = nil
        self.keyGrant = nil
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
