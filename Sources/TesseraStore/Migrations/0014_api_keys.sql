-- API keys with a lifecycle (README: Security). A tenant holds several named keys,
-- each with a scope (read < write < admin, of its own tenant) and an optional expiry;
-- a key is revoked (never deleted: the audit trail names it), and rotating one revokes
-- it and makes its successor. Only the key's SHA-256 and first characters are kept.
-- Runs as tessera_owner (the Migrator sets the role from 0014 on).

CREATE TABLE api_keys (
    tenant_id   bigint      NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    key_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scope       text        NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    key_hash    bytea       NOT NULL UNIQUE,
    key_prefix  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    replaced_by bigint      REFERENCES api_keys (key_id)
);
-- A name is unique among a tenant's live keys; a revoked key's name may be used again.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (tenant_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, key_id);

-- Each tenant's one key so far becomes its key 'default', of scope admin.
INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix, created_at)
SELECT tenant_id, 'default', 'admin', api_key_hash, api_key_prefix, created_at FROM tenants;

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON api_keys
    USING (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint);
CREATE POLICY owner_all ON api_keys TO tessera_owner USING (true) WITH CHECK (true);

-- A tenant's admin key lists, creates, revokes and rotates its tenant's keys, behind the wall.
GRANT SELECT, INSERT ON api_keys TO tessera_app;
GRANT UPDATE (revoked_at, replaced_by) ON api_keys TO tessera_app;

DROP FUNCTION tenant_by_key_hash(bytea);
DROP FUNCTION create_tenant(text, bytea, text, boolean, integer, bigint, integer, integer);
DROP FUNCTION rotate_tenant_key(text, bytea, text);
ALTER TABLE tenants DROP COLUMN api_key_hash, DROP COLUMN api_key_prefix;

-- The key with this SHA-256, revoked and expired ones too (so the server can say which),
-- with its tenant: asked before any tenant is known.
CREATE FUNCTION tenant_by_key_hash(hash bytea)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz,
               key_id bigint, key_scope text, key_expires_at timestamptz, key_revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at, k.key_id, k.scope, k.expires_at, k.revoked_at
      FROM api_keys AS k JOIN tenants AS t ON t.tenant_id = k.tenant_id
     WHERE k.key_hash = hash
$$;

-- Creates a tenant and its first key, 'default', of scope admin.
CREATE FUNCTION create_tenant(tenant_name text, key_hash bytea, key_prefix text, auto_create boolean,
                              retention integer, entity_cap bigint, attribute_cap integer, points_per_second integer)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    made tenants;
BEGIN
    INSERT INTO tenants AS t (name, auto_create_attributes, retention_months, max_entities, max_attributes,
                              max_points_per_second)
    VALUES (tenant_name, auto_create, retention, entity_cap, attribute_cap, points_per_second)
    RETURNING t.* INTO made;
    INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix)
    VALUES (made.tenant_id, 'default', 'admin', create_tenant.key_hash, create_tenant.key_prefix);
    RETURN QUERY SELECT made.tenant_id, made.name, made.auto_create_attributes, made.retention_months, made.max_entities,
                        made.max_attributes, made.max_points_per_second, made.created_at;
END
$$;

-- Re-issues a tenant's key 'default' (admin): the live one is revoked, replaced by this one.
CREATE FUNCTION rotate_tenant_key(tenant_name text, key_hash bytea, key_prefix text)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    target tenants;
    successor bigint;
BEGIN
    SELECT * INTO target FROM tenants AS t WHERE t.name = tenant_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE api_keys AS k SET revoked_at = now()
     WHERE k.tenant_id = target.tenant_id AND k.name = 'default' AND k.revoked_at IS NULL;
    INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix)
    VALUES (target.tenant_id, 'default', 'admin', rotate_tenant_key.key_hash, rotate_tenant_key.key_prefix)
    RETURNING key_id INTO successor;
    UPDATE api_keys AS k SET replaced_by = successor
     WHERE k.tenant_id = target.tenant_id AND k.name = 'default' AND k.key_id <> successor AND k.replaced_by IS NULL
       AND k.revoked_at IS NOT NULL AND k.revoked_at = now();
    RETURN QUERY SELECT target.tenant_id, target.name, target.auto_create_attributes, target.retention_months,
                        target.max_entities, target.max_attributes, target.max_points_per_second, target.created_at;
END
$$;

REVOKE ALL ON FUNCTION tenant_by_key_hash(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION create_tenant(text, bytea, text, boolean, integer, bigint, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION rotate_tenant_key(text, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_by_key_hash(bytea) TO tessera_app;
GRANT EXECUTE ON FUNCTION create_tenant(text, bytea, text, boolean, integer, bigint, integer, integer) TO tessera_app;
GRANT EXECUTE ON FUNCTION rotate_tenant_key(text, bytea, text) TO tessera_app;
