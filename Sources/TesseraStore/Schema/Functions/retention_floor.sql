-- The first instant a tenant with `months` of retention keeps at `at` (the first of the oldest kept UTC month);
-- NULL for 0 (forever). The same floor ingest refuses points below (IngestResolver.retentionFloor).
-- Called by RetentionRunner.tenants and by retention_partitions(), retention_drop_partition().
-- Locks: none.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.retention_floor(months integer, at timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN months > 0
                THEN (date_trunc('month', at AT TIME ZONE 'UTC') - make_interval(months => months - 1)) AT TIME ZONE 'UTC'
           END
$function$;
