-- Changes a tenant's settings (NULL arguments keep theirs), returns it with its usage; the owner's (SECURITY DEFINER).
-- Called by Catalog.updateTenant (PATCH /v1/tenants/{id} with the admin token, `tessera tenant set`).
-- Locks: the tenant's row.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.update_tenant(tenant bigint, auto_create boolean, retention integer, entity_cap bigint, attribute_cap integer, points_per_second integer)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone, entity_count bigint, attribute_count integer)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    UPDATE tenants AS t
       SET auto_create_attributes = coalesce(auto_create, t.auto_create_attributes),
           retention_months = coalesce(retention, t.retention_months),
           max_entities = coalesce(entity_cap, t.max_entities),
           max_attributes = coalesce(attribute_cap, t.max_attributes),
           max_points_per_second = coalesce(points_per_second, t.max_points_per_second)
     WHERE t.tenant_id = tenant
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at, t.entity_count, t.attribute_count
$function$;
