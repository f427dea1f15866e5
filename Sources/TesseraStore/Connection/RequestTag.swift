import PostgresNIO

/// The id of the request a task works for (`X-Request-Id`), which `TenantScope` puts in the
/// connection's `application_name` while its statements run. Set by the server for each
/// request; nil elsewhere (the flusher, commands).
package enum RequestTag {
    @TaskLocal package static var current: String?
}

extension PostgresBindings {
    /// The request's id as a text bind, or NULL outside a request.
    package mutating func appendRequestTag() {
        if let tag = RequestTag.current { self.append(tag) } else { self.appendNull() }
    }
}
