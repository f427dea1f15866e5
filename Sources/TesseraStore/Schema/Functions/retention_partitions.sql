-- Every partition of entity_values_ts wholly before the current UTC month at `at`, with its range (from its bound)
-- and the tenants holding it: those whose window has not passed its end (retention 0, or a floor before its end).
-- Called by RetentionRunner.partitions and retention_drop_partition().
-- Locks: none.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.retention_partitions(at timestamp with time zone)
 RETURNS TABLE(partition_name text, range_start timestamp with time zone, range_end timestamp with time zone, held_by bigint[])
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    WITH parts AS (
        SELECT c.relname::text AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz AS lo,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS hi
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'entity_values_ts'::regclass
    )
    SELECT p.name, p.lo, p.hi,
           coalesce((SELECT array_agg(t.tenant_id ORDER BY t.tenant_id) FROM tenants t
                      WHERE t.retention_months = 0 OR retention_floor(t.retention_months, at) < p.hi), '{}')
      FROM parts p
     WHERE p.hi <= date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     ORDER BY p.lo
$function$;
