-- One page of an entity's series of one attribute: from_ts <= ts < to_ts, after after_ts in the page's order,
-- at most max_rows; visits the monthly partitions (ts_partition_months()) in that order and stops once full.
-- Called by SeriesReads when a time bound is open (with both bounds it queries entity_values_ts directly).
-- Locks: none beyond a read's (only the months it visits).
-- Last defined in 0013_least_privilege_and_row_security.sql (through the parent, under the tenant wall).
CREATE OR REPLACE FUNCTION public.series_points(tenant bigint, entity bigint, attribute integer, from_ts timestamp with time zone, to_ts timestamp with time zone, after_ts timestamp with time zone, descending boolean, max_rows integer)
 RETURNS TABLE(ts timestamp with time zone, value_int bigint, value_decimal double precision, value_text text, value_bool boolean, value_ts timestamp with time zone, value_json jsonb)
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    part record;
    got integer := 0;
    n integer;
    low timestamptz := greatest(from_ts, CASE WHEN descending THEN NULL ELSE after_ts END);
    high timestamptz := least(to_ts, CASE WHEN descending THEN after_ts ELSE NULL END);
BEGIN
    FOR part IN
        SELECT p.month FROM ts_partition_months() AS p
         WHERE (low IS NULL OR (p.month + interval '1 month') > low) AND (high IS NULL OR p.month <= high)
         ORDER BY CASE WHEN descending THEN NULL ELSE p.month END ASC, p.month DESC
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json FROM entity_values_ts
              WHERE ts >= %L AND ts < %L
                AND tenant_id = $1 AND entity_id = $2 AND attribute_id = $3
                AND ($4::timestamptz IS NULL OR ts >= $4) AND ($5::timestamptz IS NULL OR ts < $5)
                AND ($6::timestamptz IS NULL OR ts %s $6)
              ORDER BY ts %s LIMIT $7',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC',
            CASE WHEN descending THEN '<' ELSE '>' END, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END)
            USING tenant, entity, attribute, from_ts, to_ts, after_ts, max_rows - got;
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN got >= max_rows;
    END LOOP;
END
$function$;
