/// How the HTTP server runs. Built by the executable from flags and the environment;
/// tests build it directly.
package struct ServerConfiguration: Sendable {
    package var host: String
    package var port: Int
    /// Token for admin endpoints (`POST /v1/tenants`).
    package var adminToken: String
    /// Largest JSON body the catalog endpoints accept.
    package var maxBodyBytes: Int
    /// Request handlers run on their connection's event loop (`EventLoopPinnedChildChannel`);
    /// off: on Swift's global concurrent executor.
    package var handlersOnEventLoop: Bool
    /// A connection that sends nothing for this long is closed.
    package var idleTimeout: Duration
    /// HTTPS with this certificate and key; nil: plain HTTP (behind a TLS-terminating
    /// load balancer, or on loopback).
    package var tls: ServerTLS?
    /// One log line per request (`AccessLogMiddleware`).
    package var accessLog: Bool

    package init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        adminToken: String,
        maxBodyBytes: Int = 1 << 20,
        handlersOnEventLoop: Bool = true,
        accessLog: Bool = true,
        idleTimeout: Duration = .seconds(60),
        tls: ServerTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.adminToken = adminToken
        self.maxBodyBytes = maxBodyBytes
        self.handlersOnEventLoop = handlersOnEventLoop
        self.accessLog = accessLog
        self.idleTimeout = idleTimeout
        self.tls = tls
    }
}
