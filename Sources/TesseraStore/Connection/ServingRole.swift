import Logging
import PostgresNIO

/// What the role the server connects as may do: whether row-level security walls it in
/// (migration 0013). A superuser, a role with BYPASSRLS, or a member of the schema's
/// owner sees every tenant's rows whatever the statement asks.
package struct ServingRole: Sendable, Equatable {
    package var name: String
    package var superuser: Bool
    package var bypassesRowSecurity: Bool
    package var ownsSchema: Bool

    /// Why the tenant wall does not hold for this role; nil when it does.
    package var problem: String? {
        if self.superuser { return "\(self.name) is a superuser" }
        if self.bypassesRowSecurity { return "\(self.name) has BYPASSRLS" }
        if self.ownsSchema { return "\(self.name) is a member of \(Migrator.ownerRole), which owns the schema" }
        return nil
    }

    package static func inspect(_ client: PostgresClient, logger: Logger) async throws -> ServingRole {
        let rows = try await client.liveQuery(
            """
            SELECT current_user::text, r.rolsuper, r.rolbypassrls,
                   EXISTS (SELECT FROM pg_roles WHERE rolname = \(Migrator.ownerRole))
                   AND pg_has_role(current_user, \(Migrator.ownerRole), 'MEMBER')
              FROM pg_roles AS r WHERE r.rolname = current_user
            """,
            logger: logger
        )
        for try await (name, superuser, bypass, owner) in rows.decode((String, Bool, Bool, Bool).self) {
            return ServingRole(name: name, superuser: superuser, bypassesRowSecurity: bypass, ownsSchema: owner)
        }
        return ServingRole(name: "?", superuser: false, bypassesRowSecurity: false, ownsSchema: false)
    }
}
