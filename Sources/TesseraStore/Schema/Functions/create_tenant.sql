-- Creates a tenant and its first key, 'default' of scope admin (its hash and prefix); the owner's (SECURITY DEFINER).
-- Called by Catalog.createTenant (POST /v1/tenants with the admin token, `tessera tenant create`).
-- Locks: the new row.
-- Last defined in 0014_api_keys.sql (also 0013).
CREATE OR REPLACE FUNCTION public.create_tenant(tenant_name text, key_hash bytea, key_prefix text, auto_create boolean, retention integer, entity_cap bigint, attribute_cap integer, points_per_second integer)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
$function$;
