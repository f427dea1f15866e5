-- A tenant by id with its usage (entities and attributes as its caps count them); the owner's (SECURITY DEFINER).
-- Called by Catalog.tenant(id:) (GET /v1/tenants/{id}, with the admin token).
-- Locks: none.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.tenant_with_usage(tenant bigint)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone, entity_count bigint, attribute_count integer)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at, t.entity_count, t.attribute_count
      FROM tenants AS t
     WHERE t.tenant_id = tenant
$function$;
