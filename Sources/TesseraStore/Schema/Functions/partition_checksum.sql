-- Rows and an order-independent checksum of a partition of entity_values_ts (the sum of the 64-bit hash of each
-- row's text): what `tessera archive export` records in the manifest and `tessera archive restore` must find again.
-- Called by MonthArchiver (TesseraLocal, through psql). Not granted to tessera_app.
-- Locks: none.
-- Last defined in 0022_archived_months.sql.
CREATE OR REPLACE FUNCTION public.partition_checksum(partition_name text)
 RETURNS TABLE(row_count bigint, checksum text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
    IF partition_name !~ '^entity_values_ts_p[0-9]{6}$' THEN
        RAISE EXCEPTION 'not a partition of entity_values_ts: %', partition_name USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM %I AS t', partition_name);
END
$function$;
