import Foundation
import Hummingbird
import TesseraCore
import TesseraStore

/// The JSON shapes the API answers with.
struct TenantCreatedResponse: ResponseEncodable {
    var id: Int64
    var name: String
    var apiKey: String
    var createdAt: Date
    var settings: SettingsBody

    struct SettingsBody: Codable {
        var autoCreateAttributes: Bool
        var retentionMonths: Int
        var maxEntities: Int64
        var maxAttributes: Int
        var maxPointsPerSecond: Int

        init(_ settings: Tenant.Settings) {
            self.autoCreateAttributes = settings.autoCreateAttributes
            self.retentionMonths = settings.retentionMonths
            self.maxEntities = settings.maxEntities
            self.maxAttributes = settings.maxAttributes
            self.maxPointsPerSecond = settings.maxPointsPerSecond
        }

        enum CodingKeys: String, CodingKey {
            case autoCreateAttributes = "auto_create_attributes"
            case retentionMonths = "retention_months"
            case maxEntities = "max_entities"
            case maxAttributes = "max_attributes"
            case maxPointsPerSecond = "max_points_per_second"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, settings
        case apiKey = "api_key"
        case createdAt = "created_at"
    }
}

/// `GET`/`PATCH /v1/tenants/{id}`: the tenant's settings and what it holds of its caps.
struct TenantResponse: ResponseEncodable {
    var id: Int64
    var name: String
    var createdAt: Date
    var settings: TenantCreatedResponse.SettingsBody
    var usage: Usage

    struct Usage: Codable {
        var entities: Int64
        var attributes: Int
    }

    init(_ tenant: Tenant, _ usage: Catalog.Usage) {
        self.id = tenant.id
        self.name = tenant.name
        self.createdAt = tenant.createdAt
        self.settings = .init(tenant.settings)
        self.usage = Usage(entities: usage.entities, attributes: usage.attributes)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, settings, usage
        case createdAt = "created_at"
    }
}

struct AttributeResponse: ResponseEncodable {
    var id: Int32
    var name: String
    var type: String
    var hot: Bool
    var critical: Bool
    var pii: Bool
    var unit: String?
    var description: String?
    var createdAt: Date

    init(_ attribute: Attribute) {
        self.id = attribute.id
        self.name = attribute.definition.name
        self.type = attribute.definition.type.rawValue
        self.hot = attribute.definition.hot
        self.critical = attribute.definition.critical
        self.pii = attribute.definition.pii
        self.unit = attribute.definition.unit
        self.description = attribute.definition.description
        self.createdAt = attribute.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type, hot, critical, pii, unit, description
        case createdAt = "created_at"
    }
}

struct AttributeListResponse: ResponseEncodable {
    var attributes: [AttributeResponse]
}

struct EntityResponse: ResponseEncodable {
    var id: Int64
    var key: String
    var type: String?
    var subject: String?
    var version: Int64
    var createdAt: Date
    var updatedAt: Date

    init(_ entity: Entity) {
        self.id = entity.id
        self.key = entity.key
        self.type = entity.type
        self.subject = entity.subject
        self.version = entity.version
        self.createdAt = entity.createdAt
        self.updatedAt = entity.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, key, type, subject, version
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension Parameters {
    /// A path parameter, percent-decoded (Hummingbird hands them over raw).
    func decoded(_ name: String, field: String) throws(TesseraError) -> String {
        guard let raw = self.get(name) else {
            throw TesseraError(.invalidParameter, "The \(field) is missing from the path.")
        }
        guard let value = raw.removingPercentEncoding else {
            throw TesseraError(.invalidName, "The \(field) in the path is not valid percent-encoded UTF-8.")
        }
        return value
    }
}
