import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore

/// `tessera key create|list|revoke|rotate --tenant NAME`: a tenant's API keys, as the
/// operator (the same rules as `/v1/keys`: a key is shown once, when made).
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage a tenant's API keys.",
        subcommands: [Create.self, List.self, Revoke.self, Rotate.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var options: DatabaseOptions
        @Option(help: "The tenant's name.") var tenant: String

        /// Runs `body` with the catalog and the named tenant.
        func run<T: Sendable>(_ body: @escaping @Sendable (Catalog, Tenant) async throws -> T) async throws -> T {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let name = self.tenant
            return try await withPostgresClient(url: url, logger: logger) { client in
                let catalog = Catalog(client: client, logger: logger)
                guard let tenant = try await catalog.tenant(named: name) else {
                    throw OperatorError(message: "No tenant named '\(name)'.")
                }
                return try await body(catalog, tenant)
            }
        }
    }

    static func describe(_ key: Catalog.StoredKey) -> String {
        var state = "live"
        if let revoked = key.revokedAt {
            state = "revoked \(revoked.formatted(.iso8601))" + (key.replacedBy.map { ", replaced by \($0)" } ?? "")
        } else if let expires = key.expiresAt {
            state = expires > Date() ? "live until \(expires.formatted(.iso8601))" : "expired \(expires.formatted(.iso8601))"
        }
        return "\(key.id)\t\(key.name)\t\(key.scope.rawValue)\t\(key.prefix)…\tcreated \(key.createdAt.formatted(.iso8601))\t\(state)"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (shown once).")
        @OptionGroup var target: Target
        @Option(help: "The key's name, unique among the tenant's live keys.") var name: String
        @Option(help: "read, write or admin (each includes the ones before it).") var scope: String
        @Option(help: "When it stops working (ISO 8601, e.g. 2027-01-01T00:00:00Z); default never.") var expiresAt: String?

        func run() async throws {
            let scope: KeyScope
            do { scope = try KeyScope(parsing: self.scope) } catch { throw ValidationError(error.detail) }
            var expiry: Date?
            if let text = self.expiresAt {
                guard let parsed = try? Date(text, strategy: .iso8601) else {
                    throw ValidationError("--expires-at must be ISO 8601, e.g. 2027-01-01T00:00:00Z")
                }
                expiry = parsed
            }
            let (name, expiresAt) = (self.name, expiry)
            let (stored, key) = try await self.target.run { catalog, tenant in
                try await catalog.createKey(name: name, scope: scope, expiresAt: expiresAt, tenant: tenant)
            }
            print(KeyCommand.describe(stored))
            print("api_key: \(key.value)")
            print("Keep the key: it is stored hashed and cannot be shown again.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's keys (id, name, scope, first characters, state).")
        @OptionGroup var target: Target

        func run() async throws {
            let keys = try await self.target.run { catalog, tenant in try await catalog.keys(tenant: tenant) }
            for key in keys { print(KeyCommand.describe(key)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key: it stops working at once here and on every server within 5 s (their key cache)."
        )
        @OptionGroup var target: Target
        @Argument(help: "The key's id (from `tessera key list`).") var id: Int64

        func run() async throws {
            let id = self.id
            guard let revoked = try await self.target.run({ catalog, tenant in try await catalog.revokeKey(id: id, tenant: tenant) }) else {
                throw OperatorError(message: "The tenant has no live key with id \(id).")
            }
            print(KeyCommand.describe(revoked))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a key by a new one with the same name, scope and expiry (printed once); the old one is revoked."
        )
        @OptionGroup var target: Target
        @Argument(help: "The key's id (from `tessera key list`).") var id: Int64

        func run() async throws {
            let id = self.id
            guard let (stored, key) = try await self.target.run({ catalog, tenant in try await catalog.rotateKey(id: id, tenant: tenant) }) else {
                throw OperatorError(message: "The tenant has no live key with id \(id).")
            }
            print(KeyCommand.describe(stored))
            print("api_key: \(key.value)")
            print("Keep the key: it is stored hashed and cannot be shown again. Key \(id) is revoked.")
        }
    }
}
