-- Replaces a tenant's key (hash and prefix); the old key stops working at once. The owner's (SECURITY DEFINER).
-- Called by Catalog.rotateKey (the demo tenant of `serve --demo`).
-- Locks: the tenant's row.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.rotate_tenant_key(tenant_name text, key_hash bytea, key_prefix text)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    UPDATE tenants AS t SET api_key_hash = key_hash, api_key_prefix = key_prefix
     WHERE t.name = tenant_name
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at
$function$;
