import AsyncHTTPClient
import Foundation
import NIOCore

extension BenchEnvironment {
    /// GET from the Tessera server with a tenant's key; the body, or an error unless 200.
    @discardableResult
    func get(_ path: String, key: String) async throws -> String {
        var request = HTTPClientRequest(url: self.base + path)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        return try await self.ok(request, "GET \(path)")
    }

    /// POST a JSON body to the Tessera server with a tenant's key; the body, or an error unless 200.
    @discardableResult
    func post(_ path: String, body: String, key: String) async throws -> String {
        var request = HTTPClientRequest(url: self.base + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        return try await self.ok(request, "POST \(path)")
    }

    private func ok(_ request: HTTPClientRequest, _ what: String) async throws -> String {
        let response = try await self.http.execute(request, timeout: .seconds(60))
        let answer = String(buffer: try await response.body.collect(upTo: 8 << 20))
        guard response.status == .ok else { throw ValidationErrorText("\(what) answered \(response.status.code): \(answer.prefix(200))") }
        return answer
    }
}
