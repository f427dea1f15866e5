-- One page of an entity's series of one attribute: from_ts <= ts < to_ts, after after_ts in the page's order,
-- at most max_rows; visits the monthly partitions (ts_partition_months()) in that order and stops once full.
-- Called by SeriesReads when a time bound is open (with both bounds it queries entity_values_ts directly).
-- Locks: none beyond a read's (only the months it visits).
-- Last defined in 0028_packs_of_many_series.sql (packed_values' entities; 0027 before).
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
            'SELECT t.ts, t.value_int, t.value_decimal, t.value_text, t.value_bool, t.value_ts, t.value_json
               FROM ((SELECT e.ts, e.value_int, e.value_decimal, e.value_text, e.value_bool, e.value_ts, e.value_json
                        FROM entity_values_ts AS e
                       WHERE e.ts >= %1$L AND e.ts < %2$L AND e.tenant_id = $1 AND e.entity_id = $2 AND e.attribute_id = $3
                       ORDER BY e.ts %4$s)
                     UNION ALL
                     (SELECT p.ts, p.value_int, p.value_decimal, p.value_text, p.value_bool, p.value_ts, p.value_json
                        FROM packed_values($1, ARRAY[$2], $3, %1$L, %2$L) AS p
                       ORDER BY p.ts %4$s)) AS t
              WHERE ($4::timestamptz IS NULL OR t.ts >= $4) AND ($5::timestamptz IS NULL OR t.ts < $5)
                AND ($6::timestamptz IS NULL OR t.ts %3$s $6)
              ORDER BY t.ts %4$s LIMIT $7',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC',
            CASE WHEN descending THEN '<' ELSE '>' END, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END)
            USING tenant, entity, attribute, from_ts, to_ts, after_ts, max_rows - got;
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN got >= max_rows;
    END LOOP;
END
$function$;
