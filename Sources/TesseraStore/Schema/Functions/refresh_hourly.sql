-- Recomputes the entity_values_hourly rows of the given (attribute, hour) pairs of a tenant from the points
-- (typed aggregates; first and last values from one window pass).
-- Called by Catalog.deleteEntity (the hours of the deleted points) and the trigger rollups_follow_replaced_points() (hours in which a
-- value was replaced); 0010 used it once to fix duplicate points.
-- Locks: none of its own. Last defined in 0027_cold_months_packed.sql (the packed points too; 0005, first 0004).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0028_packs_of_many_series.sql (packed_values' entities; 0027 before).
CREATE OR REPLACE FUNCTION public.refresh_hourly(tenant bigint, attribute_ids integer[], hours timestamp with time zone[])
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    DELETE FROM entity_values_hourly AS r
     USING unnest(attribute_ids, hours) AS k(attribute_id, hour)
     WHERE r.tenant_id = tenant AND r.attribute_id = k.attribute_id AND r.hour = k.hour;
    INSERT INTO entity_values_hourly (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
    SELECT tenant, attribute_id, hour, count(*),
           coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric),
           coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric),
           coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric),
           min(ts), coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric),
           max(ts), coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric)
      FROM (SELECT k.attribute_id, k.hour, t.ts, t.value_int, t.value_decimal,
                   first_value(t.value_int) OVER w AS first_int, first_value(t.value_decimal) OVER w AS first_decimal,
                   last_value(t.value_int) OVER w AS last_int, last_value(t.value_decimal) OVER w AS last_decimal
              FROM unnest(attribute_ids, hours) AS k(attribute_id, hour)
             CROSS JOIN LATERAL (
                   SELECT e.ts, e.value_int, e.value_decimal FROM entity_values_ts AS e
                    WHERE e.tenant_id = tenant AND e.attribute_id = k.attribute_id
                      AND e.ts >= k.hour AND e.ts < k.hour + interval '1 hour'
                   UNION ALL
                   SELECT p.ts, p.value_int, p.value_decimal
                     FROM packed_values(tenant, NULL, k.attribute_id, k.hour, k.hour + interval '1 hour') AS p) AS t
             WHERE t.value_int IS NOT NULL OR t.value_decimal IS NOT NULL
            WINDOW w AS (PARTITION BY k.attribute_id, k.hour ORDER BY t.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
     GROUP BY attribute_id, hour;
$function$;
