-- The key with this SHA-256 (live, revoked or expired, so the server can say which) with its tenant: asked
-- before any tenant is known, so the owner's (SECURITY DEFINER, it reads api_keys and tenants past the wall).
-- Called by Catalog.authenticate (every authenticated request whose key is not in TenantKeyCache).
-- Locks: none.
-- Last defined in 0014_api_keys.sql (also 0013).
CREATE OR REPLACE FUNCTION public.tenant_by_key_hash(hash bytea)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone, key_id bigint, key_scope text, key_expires_at timestamp with time zone, key_revoked_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at, k.key_id, k.scope, k.expires_at, k.revoked_at
      FROM api_keys AS k JOIN tenants AS t ON t.tenant_id = k.tenant_id
     WHERE k.key_hash = hash
$function$;
