import Logging
import PostgresNIO
import Synchronization
import TesseraCore

/// Turns incoming points into rows: names checked, attributes found (or created
/// on first sight with the type of their first value), values typed, times
/// checked, entities found (or created by key). Ids are cached per process.
package final class IngestResolver: Sendable {
    package struct Rules: Sendable {
        package var values: ValueRules
        /// Points further ahead of the server's clock than this are refused.
        package var maxFutureSkewMicros: Int64
        /// How long a cached attribute list is trusted (other servers may change flags).
        package var attributeCacheTTL: Duration
        /// Entity ids cached per process before the cache starts over.
        package var maxCachedEntities: Int
        /// Points may be written back to the first day of the month this many months
        /// before the current one, and no further: each month has a partition, so this
        /// bounds the partitions writes can make (and reads plan) to this plus those ahead.
        package var backfillHorizonMonths: Int

        package init(
            values: ValueRules = .init(),
            maxFutureSkewMicros: Int64 = 86_400_000_000,
            attributeCacheTTL: Duration = .seconds(10),
            maxCachedEntities: Int = 2_000_000,
            backfillHorizonMonths: Int = 240
        ) {
            self.values = values
            self.maxFutureSkewMicros = maxFutureSkewMicros
            self.attributeCacheTTL = attributeCacheTTL
            self.maxCachedEntities = maxCachedEntities
            self.backfillHorizonMonths = backfillHorizonMonths
        }
    }

    package struct Resolution: Sendable {
        package var rows: [IngestRow] = []
        /// Parallel to `rows`: whether the row's attribute is `critical`.
        package var critical: [Bool] = []
        package var rejections: [PointRejection] = []
    }

    let client: PostgresClient
    let rules: Rules
    let logger: Logger
    /// The tenants' attributes, shared with the reads.
    package let attributes: AttributeCatalog
    /// The entities' data keys, which seal `pii` values; nil: `pii` values are refused.
    package let vault: DataKeyVault?
    /// Months archived to cold storage, whose points are refused; nil: none are.
    package let archivedMonths: ArchivedMonths?
    /// Entity ids by tenant and key; keys compare as bytes, as in the database.
    private let entities = Mutex<(count: Int, byTenant: [Int64: [ExactKey: Int64]])>((0, [:]))

    package init(
        client: PostgresClient,
        rules: Rules = .init(),
        attributes: AttributeCatalog? = nil,
        vault: DataKeyVault? = nil,
        archivedMonths: ArchivedMonths? = nil,
        clock: ServiceClock = .continuous,
        logger: Logger
    ) {
        self.vault = vault
        self.archivedMonths = archivedMonths
        self.attributes = attributes ?? AttributeCatalog(client: client, ttl: rules.attributeCacheTTL, clock: clock, logger: logger)
        self.client = client
        self.rules = rules
        self.logger = logger
    }

    /// Forgets a cached entity id (after the entity was deleted).
    package func invalidateEntity(tenant: Int64, key: String) {
        self.entities.withLock { cache in
            if cache.byTenant[tenant]?.removeValue(forKey: ExactKey(key)) != nil { cache.count -= 1 }
        }
    }

    package func resolve(_ points: [IncomingPoint], tenant: Tenant, nowMicros: Int64) async throws(TesseraError) -> Resolution {
        var resolution = Resolution()
        var candidates = [(IncomingPoint, Attribute)]()
        candidates.reserveCapacity(points.count)

        var named = [IncomingPoint]()
        named.reserveCapacity(points.count)
        for point in points {
            do throws(TesseraError) {
                try NameRules.validateEntityKey(point.entityKey)
                try NameRules.validateAttributeName(point.attribute)
                named.append(point)
            } catch {
                resolution.rejections.append(PointRejection(index: point.index, error))
            }
        }

        let attributes = try await self.attributes(for: named, tenant: tenant)
        let retentionFloor = Self.retentionFloor(tenant: tenant, nowMicros: nowMicros)
        let horizon = Self.monthsBack(self.rules.backfillHorizonMonths, nowMicros: nowMicros)
        let archived = await self.archivedMonths?.current() ?? []
        for point in named {
            guard let attribute = attributes[point.attribute] else {
                let name = NameRules.printable(point.attribute)
                if !tenant.settings.autoCreateAttributes {
                    resolution.rejections.append(
                        PointRejection(
                            index: point.index,
                            code: TesseraError.Code.unknownAttribute.rawValue,
                            detail:
                                "Attribute '\(name)' does not exist; create it with PUT /v1/attributes/{name} (this tenant does not create attributes on first sight)."
                        )
                    )
                } else if ValueRules.inferType(point.value) == nil {
                    resolution.rejections.append(
                        PointRejection(
                            index: point.index,
                            code: TesseraError.Code.unknownAttribute.rawValue,
                            detail: "Attribute '\(name)' does not exist, and a null value cannot say its type."
                        )
                    )
                } else {
                    resolution.rejections.append(
                        PointRejection(
                            index: point.index,
                            code: TesseraError.Code.quotaExceeded.rawValue,
                            detail: "Attribute '\(name)' would pass the tenant's limit of \(tenant.settings.maxAttributes) attributes."
                        )
                    )
                }
                continue
            }
            let time = point.timestamp ?? nowMicros
            if time > nowMicros + self.rules.maxFutureSkewMicros || time < horizon {
                resolution.rejections.append(
                    PointRejection(
                        index: point.index,
                        code: TesseraError.Code.timestampOutOfRange.rawValue,
                        detail:
                            "The point's time \(Timestamps.format(micros: time)) is too far in the future (more than \(self.rules.maxFutureSkewMicros / 1_000_000) s ahead) "
                            + "or before \(Timestamps.format(micros: horizon)), the server's backfill horizon (\(self.rules.backfillHorizonMonths) months)."
                    )
                )
                continue
            }
            if let retentionFloor, time < retentionFloor {
                resolution.rejections.append(
                    PointRejection(
                        index: point.index,
                        code: TesseraError.Code.timestampOutOfRange.rawValue,
                        detail:
                            "The point's time \(Timestamps.format(micros: time)) is older than the tenant's retention of \(tenant.settings.retentionMonths) months."
                    )
                )
                continue
            }
            if !archived.isEmpty, archived.contains(ArchivedMonths.monthIndex(time)) {
                resolution.rejections.append(
                    PointRejection(
                        index: point.index,
                        code: TesseraError.Code.timestampOutOfRange.rawValue,
                        detail:
                            "The point's time \(Timestamps.format(micros: time)) falls in \(ArchivedMonths.label(ArchivedMonths.monthIndex(time))), "
                            + "a month archived to cold storage; it takes points again once an operator restores it (`tessera archive restore`)."
                    )
                )
                continue
            }
            candidates.append((point, attribute))
        }

        var typed = [(IncomingPoint, Attribute, PointValue, Int64)]()
        typed.reserveCapacity(candidates.count)
        for (point, attribute) in candidates {
            do throws(TesseraError) {
                let value = try self.rules.values.coerce(point.value, to: attribute.definition.type, attribute: attribute.definition.name)
                typed.append((point, attribute, value, point.timestamp ?? nowMicros))
            } catch {
                resolution.rejections.append(PointRejection(index: point.index, error))
            }
        }

        let entityIDs = try await self.entityIDs(for: typed.map(\.0.entityKey), tenant: tenant)
        resolution.rows.reserveCapacity(typed.count)
        // Rows of pii attributes, sealed below with their entity's data key.
        var personal = [(row: Int, index: Int)]()
        for (point, attribute, value, time) in typed {
            guard let entityID = entityIDs[ExactKey(point.entityKey)] else {
                resolution.rejections.append(
                    PointRejection(
                        index: point.index,
                        code: TesseraError.Code.quotaExceeded.rawValue,
                        detail: "The entity '\(NameRules.printable(point.entityKey))' would pass the tenant's limit of \(tenant.settings.maxEntities) entities."
                    )
                )
                continue
            }
            if attribute.definition.pii {
                guard self.vault != nil else {
                    resolution.rejections.append(
                        PointRejection(
                            index: point.index,
                            code: TesseraError.Code.piiUnavailable.rawValue,
                            detail:
                                "Attribute '\(NameRules.printable(attribute.definition.name))' is pii, and this server has no master key and key vault to encrypt it."
                        )
                    )
                    continue
                }
                personal.append((resolution.rows.count, point.index))
            }
            resolution.rows.append(IngestRow(tenantID: tenant.id, entityID: entityID, attributeID: attribute.id, value: value, timestamp: time))
            resolution.critical.append(attribute.definition.critical)
        }
        if let vault = self.vault, !personal.isEmpty {
            try await self.seal(personal, in: &resolution, vault: vault, tenant: tenant)
        }
        resolution.rejections.sort { $0.index < $1.index }
        return resolution
    }

    /// The first instant kept under the tenant's retention (whole months), or nil for "forever".
    static func retentionFloor(tenant: Tenant, nowMicros: Int64) -> Int64? {
        let months = tenant.settings.retentionMonths
        guard months > 0 else { return nil }
        return self.monthsBack(months - 1, nowMicros: nowMicros)
    }

    /// The first instant of the month `months` before the current one (UTC).
    static func monthsBack(_ months: Int, nowMicros: Int64) -> Int64 {
        ArchivedMonths.start(ArchivedMonths.monthIndex(nowMicros) - months)
    }

    // MARK: - Attributes

    private func attributes(for points: [IncomingPoint], tenant: Tenant) async throws(TesseraError) -> AttributesByName {
        let names = Set(points.map { ExactKey($0.attribute) })
        let byName = try await self.attributes.known(tenant: tenant.id, needing: Set(names.map(\.text)))
        let missing = names.filter { byName[$0.text] == nil }
        guard !missing.isEmpty, tenant.settings.autoCreateAttributes else { return byName }
        // Create each missing attribute with the type of its first non-null value.
        var firstTypes = [ExactKey: ValueType]()
        for point in points {
            let name = ExactKey(point.attribute)
            if missing.contains(name), firstTypes[name] == nil, let type = ValueRules.inferType(point.value) { firstTypes[name] = type }
        }
        guard !firstTypes.isEmpty else { return byName }
        // Created under the tenant's cap, race-free (migration 0011); names past it stay missing.
        let toCreate = firstTypes.sorted { Array($0.key.text.utf8).lexicographicallyPrecedes(Array($1.key.text.utf8)) }
        return try await self.attributes.create(names: toCreate.map(\.key.text), types: toCreate.map(\.value), tenant: tenant.id)
    }

    // MARK: - Entities

    private func entityIDs(for keys: [String], tenant: Tenant) async throws(TesseraError) -> [ExactKey: Int64] {
        var found = [ExactKey: Int64]()
        var missing = Set<ExactKey>()
        self.entities.withLock { cache in
            let known = cache.byTenant[tenant.id] ?? [:]
            for key in keys.map(ExactKey.init) {
                if let id = known[key] { found[key] = id } else { missing.insert(key) }
            }
        }
        guard !missing.isEmpty else { return found }
        let loaded = try await self.createOrFindEntities(missing.map(\.text), tenant: tenant)
        self.entities.withLock { cache in
            if cache.count + loaded.count > self.rules.maxCachedEntities {
                cache = (0, [:])
            }
            for (key, id) in loaded where cache.byTenant[tenant.id, default: [:]].updateValue(id, forKey: key) == nil {
                cache.count += 1
            }
        }
        found.merge(loaded) { first, _ in first }
        return found
    }

    /// The ids of the keys' entities, created (or brought back) as needed, while the
    /// tenant's `max_entities` leaves room (migration 0011): keys past it are missing.
    private func createOrFindEntities(_ keys: [String], tenant: Tenant) async throws(TesseraError) -> [ExactKey: Int64] {
        try await self.run {
            let rows = try await self.client.liveQuery(
                "SELECT external_key, entity_id FROM create_entities(\(tenant.id), \(keys)::text[])",
                logger: self.logger
            )
            var loaded = [ExactKey: Int64]()
            for try await (key, id) in rows.decode((String, Int64).self) { loaded[ExactKey(key)] = id }
            return loaded
        }
    }

    /// Replaces the values of `personal` rows with their sealed text (`PIISealer`), each
    /// with its entity's data key, made now for an entity that has none.
    private func seal(_ personal: [(row: Int, index: Int)], in resolution: inout Resolution, vault: DataKeyVault, tenant: Tenant) async throws(TesseraError) {
        let entities = personal.map { resolution.rows[$0.row].entityID }
        let keys = try await self.run { try await vault.keys(tenant: tenant.id, entities: entities, creating: true) }
        var dropped = Set<Int>()
        for (row, index) in personal {
            let stored = resolution.rows[row]
            guard let key = keys[stored.entityID],
                let sealed = try? PIISealer.seal(stored.value, key: key, tenant: tenant.id, entity: stored.entityID, attribute: stored.attributeID)
            else {
                resolution.rejections.append(
                    PointRejection(
                        index: index,
                        code: TesseraError.Code.piiUnavailable.rawValue,
                        detail: "The entity's data key could not be made or opened with this server's master key."
                    )
                )
                dropped.insert(row)
                continue
            }
            resolution.rows[row].value = .text(sealed)
        }
        if !dropped.isEmpty {
            resolution.rows = resolution.rows.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
            resolution.critical = resolution.critical.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
        }
    }

    private func run<Result: Sendable>(_ operation: () async throws -> Result) async throws(TesseraError) -> Result {
        do {
            return try await operation()
        } catch {
            self.logger.error("Ingest catalog query failed", metadata: ["error": "\(String(reflecting: error))"])
            throw DatabaseErrors.clientError(for: error)
        }
    }
}
