-- The tenants whose retention_months is not 0 (keep forever): id, name, months.
-- Called by RetentionRunner.tenants.
-- Locks: none.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.tenants_with_retention()
 RETURNS TABLE(tenant_id bigint, name text, retention_months integer)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT t.tenant_id, t.name, t.retention_months FROM tenants t WHERE t.retention_months > 0
$function$;
