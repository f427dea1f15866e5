-- The months that have a partition of entity_values_ts (entity_values_ts_pYYYYMM), with the partition, in order.
-- Called by series_points() and latest_points(); no Swift source calls it (PartitionWalkTests does).
-- Locks: none.
-- Last defined in 0012_reads_walk_partitions.sql.
CREATE OR REPLACE FUNCTION public.ts_partition_months()
 RETURNS TABLE(month date, partition regclass)
 LANGUAGE sql
 STABLE
AS $function$
    SELECT to_date(substr(c.relname, 19), 'YYYYMM'), c.oid::regclass
      FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'entity_values_ts'::regclass AND c.relname ~ '^entity_values_ts_p[0-9]{6}$'
     ORDER BY 1
$function$;
