-- Trigger function of AFTER UPDATE ON entity_values_ts (trigger rollups_follow_replaced_points, FOR EACH STATEMENT,
-- REFERENCING OLD TABLE AS old_points NEW TABLE AS new_points): recomputes with refresh_hourly() the hours of the
-- numeric points a statement updated, old and new (after move_staged()'s incremental rollups counted them). Only
-- updated rows are captured: a statement that only inserts finds the tables empty.
-- No Swift calls it: it fires when move_staged()'s upsert replaces stored points (a retry, a correction, two
-- flushes of one point at once) and on any other UPDATE of the series (an operator's correction).
-- Locks: none of its own. Runs as the statement's role (tessera_owner inside flush_staged()), search_path fixed.
-- Last defined in 0029_rollups_follow_replaced_points.sql.
CREATE OR REPLACE FUNCTION public.rollups_follow_replaced_points()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    replaced record;
BEGIN
    FOR replaced IN
        SELECT h.tenant_id, array_agg(h.attribute_id ORDER BY h.attribute_id, h.hour) AS attribute_ids,
               array_agg(h.hour ORDER BY h.attribute_id, h.hour) AS hours
          FROM (SELECT DISTINCT p.tenant_id, p.attribute_id,
                       date_bin('1 hour', p.ts, timestamptz '1970-01-01 00:00:00+00') AS hour
                  FROM (SELECT o.tenant_id, o.attribute_id, o.ts FROM old_points AS o
                         WHERE o.value_int IS NOT NULL OR o.value_decimal IS NOT NULL
                        UNION ALL
                        SELECT n.tenant_id, n.attribute_id, n.ts FROM new_points AS n
                         WHERE n.value_int IS NOT NULL OR n.value_decimal IS NOT NULL) AS p) AS h
         GROUP BY h.tenant_id
         ORDER BY h.tenant_id
    LOOP
        PERFORM refresh_hourly(replaced.tenant_id, replaced.attribute_ids, replaced.hours);
    END LOOP;
    RETURN NULL;
END
$function$;
