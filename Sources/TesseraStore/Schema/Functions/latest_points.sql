-- The latest point of each given attribute of one entity, visiting the monthly partitions newest first
-- (ts_partition_months()) and stopping once every attribute has one; attributes without a point are left out.
-- Called by EntityReads.latestPoints (lookups of non-hot attributes).
-- Locks: none beyond a read's (only the months it visits).
-- Last defined in 0028_packs_of_many_series.sql (packed_values' entities; 0027 before).
CREATE OR REPLACE FUNCTION public.latest_points(tenant bigint, entity bigint, attribute_ids integer[])
 RETURNS TABLE(attribute_id integer, ts timestamp with time zone, value_int bigint, value_decimal double precision, value_text text, value_bool boolean, value_ts timestamp with time zone, value_json jsonb)
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    part record;
    point record;
    missing integer[] := attribute_ids;
BEGIN
    FOR part IN SELECT p.month FROM ts_partition_months() AS p ORDER BY p.month DESC LOOP
        EXIT WHEN cardinality(missing) = 0;
        FOR point IN EXECUTE format(
            'SELECT DISTINCT ON (t.attribute_id) t.attribute_id, t.ts, t.value_int, t.value_decimal, t.value_text,
                    t.value_bool, t.value_ts, t.value_json
               FROM (SELECT e.attribute_id, e.ts, e.value_int, e.value_decimal, e.value_text, e.value_bool, e.value_ts, e.value_json
                       FROM entity_values_ts AS e
                      WHERE e.ts >= %1$L AND e.ts < %2$L
                        AND e.tenant_id = $1 AND e.entity_id = $2 AND e.attribute_id = ANY ($3)
                     UNION ALL
                     SELECT p.attribute_id, p.ts, p.value_int, p.value_decimal, p.value_text, p.value_bool, p.value_ts, p.value_json
                       FROM packed_values($1, ARRAY[$2], NULL, %1$L, %2$L) AS p
                      WHERE p.attribute_id = ANY ($3)) AS t
              ORDER BY t.attribute_id, t.ts DESC',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC')
            USING tenant, entity, missing
        LOOP
            attribute_id := point.attribute_id;
            ts := point.ts;
            value_int := point.value_int;
            value_decimal := point.value_decimal;
            value_text := point.value_text;
            value_bool := point.value_bool;
            value_ts := point.value_ts;
            value_json := point.value_json;
            RETURN NEXT;
            missing := array_remove(missing, point.attribute_id);
        END LOOP;
    END LOOP;
END
$function$;
