import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// The catalog's rules, against the real database. Each test makes its own tenant.
@Suite struct CatalogTests {
    func withCatalog(_ body: @escaping @Sendable (Catalog, Tenant) async throws -> Void) async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let catalog = Catalog(client: client, logger: quietLogger)
            let (tenant, _) = try await catalog.createTenant(name: "catalog-\(UUID().uuidString.prefix(8))")
            try await body(catalog, tenant)
        }
    }

    @Test func keysAreStoredHashedAndResolveToTheirTenant() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let catalog = Catalog(client: client, logger: quietLogger)
            let (tenant, key) = try await catalog.createTenant(name: "keys-\(UUID().uuidString.prefix(8))")
            #expect(try await catalog.tenant(forKey: key)?.id == tenant.id)
            #expect(try await catalog.tenant(forKey: APIKey.generate()) == nil)
            let rows = try await client.query("SELECT encode(key_hash, 'hex') FROM api_keys WHERE tenant_id = \(tenant.id)")
            for try await stored in rows.decode(String.self) {
                #expect(stored.count == 64)
                #expect(!stored.contains(key.value))
            }
            // Rotation: the old key stops working at once.
            let (_, newKey) = try #require(try await catalog.rotateKey(tenantName: tenant.name))
            #expect(try await catalog.tenant(forKey: key) == nil)
            #expect(try await catalog.tenant(forKey: newKey)?.id == tenant.id)
        }
    }

    @Test func aKeyRotatedByAnotherServerStopsWorkingHereWithinTheKeyCacheTTL() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let here = Catalog(client: client, keys: TenantKeyCache(ttl: .seconds(5)), logger: quietLogger)
            let elsewhere = Catalog(client: client, logger: quietLogger)
            let (tenant, key) = try await here.createTenant(name: "rotated-\(UUID().uuidString.prefix(8))")
            #expect(try await here.tenant(forKey: key)?.id == tenant.id)
            let (_, newKey) = try #require(try await elsewhere.rotateKey(tenantName: tenant.name))
            // Until its entry expires, this server still knows the old key; the new one works at once.
            #expect(try await here.tenant(forKey: key)?.id == tenant.id)
            #expect(try await here.tenant(forKey: newKey)?.id == tenant.id)
            try await Task.sleep(for: .milliseconds(5_500))
            #expect(try await here.tenant(forKey: key) == nil)
            #expect(try await elsewhere.tenant(forKey: key) == nil)
        }
    }

    @Test func aKeyRevokedByAnotherServerIsRefusedHereOnceTheKeyCacheEntryLapses() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: ServerRole.url(for: url)) { client in
            let clock = TestClock()
            let here = Catalog(client: client, keys: TenantKeyCache(ttl: .seconds(5), clock: clock.clock), logger: quietLogger)
            let elsewhere = Catalog(client: client, logger: quietLogger)
            let (tenant, admin) = try await here.createTenant(name: "revoked-\(UUID().uuidString.prefix(8))")
            let (stored, key) = try await elsewhere.createKey(name: "dashboard", scope: .read, expiresAt: nil, tenant: tenant)
            #expect(try await here.authenticate(key) == .granted(tenant, KeyGrant(keyID: stored.id, scope: .read)))
            #expect(try await elsewhere.revokeKey(id: stored.id, tenant: tenant)?.revokedAt != nil)
            // This server remembers the key as good for its cache entry's 5 s; the server
            // that revoked it refuses it at once.
            #expect(try await here.authenticate(key).tenant?.id == tenant.id)
            #expect(try await elsewhere.authenticate(key) == .revoked(tenant, keyID: stored.id))
            clock.advance(by: .seconds(5) + .milliseconds(1))
            #expect(try await here.authenticate(key) == .revoked(tenant, keyID: stored.id))
            #expect(try await here.authenticate(admin).tenant?.id == tenant.id)
        }
    }

    @Test func duplicateTenantNamesAreRefused() async throws {
        try await self.withCatalog { catalog, tenant in
            do {
                _ = try await catalog.createTenant(name: tenant.name)
                Issue.record("a second tenant with the same name was created")
            } catch let error as TesseraError {
                #expect(error.code == .duplicate)
            }
        }
    }

    @Test func puttingAnAttributeTwiceUpdatesItInPlace() async throws {
        try await self.withCatalog { catalog, tenant in
            let (first, created) = try await catalog.putAttribute(.init(name: "temp", type: .decimal, unit: "C"), tenant: tenant)
            #expect(created)
            let (second, createdAgain) = try await catalog.putAttribute(
                .init(name: "temp", type: .decimal, hot: true, unit: "°C", description: "air"),
                tenant: tenant
            )
            #expect(!createdAgain)
            #expect(second.id == first.id)
            let all = try await catalog.attributes(tenant: tenant)
            #expect(all.count == 1)
            #expect(all.first?.definition == AttributeDefinition(name: "temp", type: .decimal, hot: true, unit: "°C", description: "air"))
        }
    }

    @Test func hotNumberAttributesTakeTheLowestFreeSlotAndGiveItBack() async throws {
        try await self.withCatalog { catalog, tenant in
            var slots = [Int?]()
            for (name, type, hot) in [
                ("temp", ValueType.decimal, true), ("site", .text, true), ("cold", .int, false),
                ("load", .int, true), ("temp", .decimal, true), ("temp", .decimal, false), ("cold", .int, true),
            ] {
                slots.append(try await catalog.putAttribute(.init(name: name, type: type, hot: hot), tenant: tenant).0.numberSlot)
            }
            // temp takes 0, text and cold ones none, load 1; temp keeps 0 when put again and
            // gives it back when it stops being hot; cold, made hot, takes it.
            #expect(slots == [0, nil, nil, 1, 0, nil, 0])
            var more = [Int?]()
            for index in 0..<14 {
                more.append(try await catalog.putAttribute(.init(name: "m\(index)", type: .decimal, hot: true), tenant: tenant).0.numberSlot)
            }
            #expect(more == Array(2...15))
            // All sixteen are taken: temp, hot again, is filtered on the projection.
            let temp = try await catalog.putAttribute(.init(name: "temp", type: .decimal, hot: true), tenant: tenant).0
            #expect(temp.numberSlot == nil)
            #expect(try await catalog.attribute(named: "m13", tenant: tenant)?.numberSlot == 15)
        }
    }

    @Test func anAttributesTypeCannotChange() async throws {
        try await self.withCatalog { catalog, tenant in
            _ = try await catalog.putAttribute(.init(name: "count", type: .int), tenant: tenant)
            do {
                _ = try await catalog.putAttribute(.init(name: "count", type: .text), tenant: tenant)
                Issue.record("the type changed")
            } catch let error as TesseraError {
                #expect(error.code == .attributeTypeConflict)
                #expect(error.detail.contains("int"))
            }
            #expect(try await catalog.attribute(named: "count", tenant: tenant)?.definition.type == .int)
        }
    }

    @Test func attributesAreCappedPerTenant() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let catalog = Catalog(client: client, logger: quietLogger)
            let (tenant, _) = try await catalog.createTenant(
                name: "capped-\(UUID().uuidString.prefix(8))",
                settings: .init(maxAttributes: 2)
            )
            _ = try await catalog.putAttribute(.init(name: "a", type: .int), tenant: tenant)
            _ = try await catalog.putAttribute(.init(name: "b", type: .int), tenant: tenant)
            do {
                _ = try await catalog.putAttribute(.init(name: "c", type: .int), tenant: tenant)
                Issue.record("the cap was passed")
            } catch let error as TesseraError {
                #expect(error.code == .quotaExceeded)
            }
            // Updating an existing one is still allowed.
            _ = try await catalog.putAttribute(.init(name: "a", type: .int, hot: true), tenant: tenant)
            #expect(try await catalog.attributes(tenant: tenant).count == 2)
        }
    }

    @Test func entitiesUpsertByExternalKey() async throws {
        try await self.withCatalog { catalog, tenant in
            let (created, wasCreated) = try await catalog.upsertEntity(key: "dev-1", type: "sensor", tenant: tenant)
            #expect(wasCreated)
            #expect(created.version == 1)
            let (same, createdAgain) = try await catalog.upsertEntity(key: "dev-1", type: "sensor", tenant: tenant)
            #expect(!createdAgain)
            #expect(same.id == created.id)
            #expect(same.version == 1)
            let (retyped, _) = try await catalog.upsertEntity(key: "dev-1", type: "gateway", tenant: tenant)
            #expect(retyped.id == created.id)
            #expect(retyped.type == "gateway")
            #expect(retyped.version == 2)
            #expect(try await catalog.entity(key: "dev-1", tenant: tenant)?.type == "gateway")
        }
    }

    @Test func tenantsNeverSeeEachOthersRows() async throws {
        try await self.withCatalog { catalog, tenant in
            let (other, _) = try await catalog.createTenant(name: "other-\(UUID().uuidString.prefix(8))")
            _ = try await catalog.putAttribute(.init(name: "secret", type: .text), tenant: tenant)
            _ = try await catalog.upsertEntity(key: "private-device", type: nil, tenant: tenant)
            #expect(try await catalog.attributes(tenant: other).isEmpty)
            #expect(try await catalog.attribute(named: "secret", tenant: other) == nil)
            #expect(try await catalog.entity(key: "private-device", tenant: other) == nil)
            // The same key in another tenant is another entity.
            let (theirs, created) = try await catalog.upsertEntity(key: "private-device", type: nil, tenant: other)
            #expect(created)
            #expect(theirs.id != (try await catalog.entity(key: "private-device", tenant: tenant))?.id)
        }
    }
}
