-- Turns the packs of a tenant (some entities or all; one attribute or all) that hold a point with from_ts <= ts < to_ts
-- back into rows of entity_values_ts, whole (a pack's other series with it); returns how many points. Packing never changes the rollups.
-- Called by Catalog.eraseSeries and Catalog.erasePoints (before their deletes, under the deletion lock),
-- retention_delete_batch() (packs straddling the floor) and unpack_month().
-- Locks: row locks of the packs it deletes.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app cannot write the series.
-- Last defined in 0028_packs_of_many_series.sql (packs of many series; 0027 before).
CREATE OR REPLACE FUNCTION public.unpack_values(tenant bigint, entity_ids bigint[], attribute integer, from_ts timestamp with time zone, to_ts timestamp with time zone)
 RETURNS bigint
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND (attribute IS NULL OR p.attribute_id = attribute)
           AND p.last_ts >= from_ts AND p.first_ts < to_ts
           AND (unpack_values.entity_ids IS NULL
                OR (p.first_entity <= (SELECT max(x) FROM unnest(unpack_values.entity_ids) AS x)
                    AND p.last_entity >= (SELECT min(x) FROM unnest(unpack_values.entity_ids) AS x)
                    AND p.entity_ids && unpack_values.entity_ids))
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                                   g.values_ts, g.values_json)
               AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$function$;
