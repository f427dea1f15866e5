-- Creates a tenant with its first key's hash and prefix; the owner's (SECURITY DEFINER).
-- Called by Catalog.createTenant (POST /v1/tenants with the admin token, `tessera tenant create`).
-- Locks: the new row.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.create_tenant(tenant_name text, key_hash bytea, key_prefix text, auto_create boolean, retention integer, entity_cap bigint, attribute_cap integer, points_per_second integer)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    INSERT INTO tenants AS t (name, api_key_hash, api_key_prefix, auto_create_attributes, retention_months,
                              max_entities, max_attributes, max_points_per_second)
    VALUES (tenant_name, key_hash, key_prefix, auto_create, retention, entity_cap, attribute_cap, points_per_second)
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at
$function$;
