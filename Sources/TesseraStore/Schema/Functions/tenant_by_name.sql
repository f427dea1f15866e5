-- A tenant by name (the admin's: `tessera tenant`, the demo tenant); the owner's (SECURITY DEFINER).
-- Called by Catalog.tenant(named:).
-- Locks: none.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.tenant_by_name(tenant_name text)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at
      FROM tenants AS t
     WHERE t.name = tenant_name
$function$;
