import Foundation
import TesseraCore
import TesseraStore

/// The tenant `make run` prints: created once, its key kept in `<dir>/demo-api-key`
/// (re-keyed if that file was lost, since keys are stored hashed).
enum DemoTenant {
    static let name = "demo"

    static func ensure(catalog: Catalog, directory: String) async throws -> String {
        let path = directory + "/demo-api-key"
        if let data = FileManager.default.contents(atPath: path) {
            let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if try await catalog.tenant(forKey: APIKey(value: key)) != nil { return key }
        }
        let key: APIKey
        if let (_, rotated) = try await catalog.rotateKey(tenantName: self.name) {
            key = rotated
        } else {
            key = try await catalog.createTenant(name: self.name).1
        }
        FileManager.default.createFile(atPath: path, contents: Data((key.value + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return key.value
    }

    static func instructions(baseURL: String, key: String) -> String {
        """

        Tessera is serving on \(baseURL)
        Demo tenant 'demo', API key: \(key)

        Try it:
          export TESSERA_KEY=\(key)
          curl -s -X PUT \(baseURL)/v1/attributes/temperature -H "Authorization: Bearer $TESSERA_KEY" \\
               -H 'Content-Type: application/json' -d '{"type":"decimal","hot":true,"unit":"°C"}'
          curl -s -X POST '\(baseURL)/v1/ingest?durability=safe' -H "Authorization: Bearer $TESSERA_KEY" \\
               -H 'Content-Type: application/json' \\
               -d '{"points":[{"entity":"sensor-1","attribute":"temperature","value":21.5},{"entity":"sensor-2","attribute":"temperature","value":25}]}'
          curl -s \(baseURL)/v1/entities/sensor-1 -H "Authorization: Bearer $TESSERA_KEY"
          curl -s -X POST \(baseURL)/v1/query/entities -H "Authorization: Bearer $TESSERA_KEY" \\
               -H 'Content-Type: application/json' -d '{"filter":{"attribute":"temperature","op":">","value":22}}'
          curl -s \(baseURL)/v1/attributes -H "Authorization: Bearer $TESSERA_KEY"

        Press Ctrl-C to stop.

        """
    }
}
