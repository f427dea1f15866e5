/// Every error Tessera reports to a client: a stable `code`, a human `detail`
/// that is safe to show, and where it applies the offending index or line.
///
/// The HTTP layer turns it into an RFC 9457 `application/problem+json` response.
package struct TesseraError: Error, Sendable, Equatable, CustomStringConvertible {
    package var code: Code
    package var detail: String
    /// Index of the offending item in a batch, when the error is about one item.
    package var index: Int?
    /// 1-based line of the offending input, for line-oriented formats.
    package var line: Int?
    /// For `rate_limited` and `unavailable`: when to retry, in seconds (`Retry-After`).
    package var retryAfterSeconds: Int?

    package init(_ code: Code, _ detail: String, index: Int? = nil, line: Int? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.detail = detail
        self.index = index
        self.line = line
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var description: String { "\(self.code.rawValue): \(self.detail)" }

    /// Stable, documented error codes. Clients switch on these, so never rename one.
    package enum Code: String, Sendable, CaseIterable {
        case invalidJSON = "invalid_json"
        case invalidBody = "invalid_body"
        case invalidName = "invalid_name"
        case invalidParameter = "invalid_parameter"
        case unknownValueType = "unknown_value_type"
        case invalidPoint = "invalid_point"
        case invalidValue = "invalid_value"
        case typeMismatch = "type_mismatch"
        case invalidTimestamp = "invalid_timestamp"
        case timestampOutOfRange = "timestamp_out_of_range"
        case unknownAttribute = "unknown_attribute"
        case noValidPoints = "no_valid_points"
        case partialWrite = "partial_write"
        case unsupportedMediaType = "unsupported_media_type"
        case bodyTooLarge = "body_too_large"
        case unauthorized = "unauthorized"
        /// The key was revoked (or replaced by a rotation).
        case keyRevoked = "key_revoked"
        /// The key's expiry has passed.
        case keyExpired = "key_expired"
        /// The key is valid but its scope does not allow this.
        case insufficientScope = "insufficient_scope"
        case notFound = "not_found"
        /// The read reaches months archived to cold storage (`tessera archive`); the detail names them.
        case archived = "archived"
        case methodNotAllowed = "method_not_allowed"
        case attributeTypeConflict = "attribute_type_conflict"
        case duplicate = "duplicate"
        case quotaExceeded = "quota_exceeded"
        /// A filter or aggregate on a `pii` attribute (its values are encrypted).
        case piiAttribute = "pii_attribute"
        /// A `pii` value, on a server without a master key and key vault.
        case piiUnavailable = "pii_unavailable"
        case rateLimited = "rate_limited"
        case notReady = "not_ready"
        case unavailable = "unavailable"
        case timeout = "timeout"
        case internalError = "internal_error"

        /// The HTTP status this code is answered with.
        package var httpStatus: Int {
            switch self {
            case .invalidJSON, .invalidBody, .invalidName, .invalidParameter, .unknownValueType, .invalidPoint, .invalidValue,
                .typeMismatch, .invalidTimestamp, .timestampOutOfRange, .unknownAttribute, .noValidPoints, .partialWrite, .piiAttribute:
                400
            case .unauthorized, .keyRevoked, .keyExpired: 401
            case .quotaExceeded, .insufficientScope: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .archived: 410
            case .attributeTypeConflict, .duplicate: 409
            case .bodyTooLarge: 413
            case .unsupportedMediaType: 415
            case .rateLimited: 429
            case .internalError: 500
            case .notReady, .unavailable, .piiUnavailable: 503
            case .timeout: 504
            }
        }

        /// A short title for the problem document, the same for every instance of the code.
        package var title: String {
            switch self {
            case .invalidJSON: "Malformed JSON"
            case .invalidBody: "Invalid request body"
            case .invalidName: "Invalid name"
            case .invalidParameter: "Invalid parameter"
            case .unknownValueType: "Unknown value type"
            case .invalidPoint: "Invalid point"
            case .invalidValue: "Invalid value"
            case .typeMismatch: "Value does not fit the attribute's type"
            case .invalidTimestamp: "Invalid timestamp"
            case .timestampOutOfRange: "Timestamp out of range"
            case .unknownAttribute: "Unknown attribute"
            case .noValidPoints: "No valid points"
            case .partialWrite: "Partial write"
            case .unsupportedMediaType: "Unsupported media type"
            case .bodyTooLarge: "Request body too large"
            case .unauthorized: "Unauthorized"
            case .keyRevoked: "API key revoked"
            case .keyExpired: "API key expired"
            case .insufficientScope: "Insufficient scope"
            case .notFound: "Not found"
            case .archived: "Archived to cold storage"
            case .methodNotAllowed: "Method not allowed"
            case .attributeTypeConflict: "Attribute type conflict"
            case .duplicate: "Already exists"
            case .quotaExceeded: "Quota exceeded"
            case .piiAttribute: "Personal data cannot be queried"
            case .piiUnavailable: "Personal data cannot be stored or read here"
            case .rateLimited: "Too many requests"
            case .notReady: "Not ready"
            case .unavailable: "Service unavailable"
            case .timeout: "Timed out"
            case .internalError: "Internal error"
            }
        }
    }
}
