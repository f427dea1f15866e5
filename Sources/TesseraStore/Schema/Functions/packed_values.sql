-- The packed points of a tenant (some entities or all; one attribute or all) with from_ts <= ts < to_ts, in the shape
-- of entity_values_ts's rows: the packs of entity_values_packed whose month, time span and entity range meet the
-- request, unnested. SQL and STABLE, not a definer: inlined into the caller's query, so the entities bound the primary
-- key's first_entity and the caller's attribute condition reaches it too.
-- Called by every read of points beside entity_values_ts (SeriesReads, AggregateReads, EntityExport, series_points(),
-- latest_points(), refresh_hourly(), retention_preview()). Locks: none beyond a read's. Under the tenant wall.
-- Last defined in 0028_packs_of_many_series.sql (packs of many series: entities as an argument; 0027 before).
CREATE OR REPLACE FUNCTION public.packed_values(tenant bigint, entities bigint[], attribute integer, from_ts timestamp with time zone, to_ts timestamp with time zone)
 RETURNS TABLE(entity_id bigint, attribute_id integer, ts timestamp with time zone, value_int bigint, value_decimal double precision, value_text text, value_bool boolean, value_ts timestamp with time zone, value_json jsonb)
 LANGUAGE sql
 STABLE
AS $function$
    SELECT u.entity_id, p.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text, u.value_bool, u.value_ts, u.value_json
      FROM entity_values_packed AS p
     CROSS JOIN LATERAL unnest(p.entity_ids, p.ts, p.values_int, p.values_decimal, p.values_text, p.values_bool, p.values_ts,
                               p.values_json)
           AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
     WHERE p.tenant_id = tenant AND (attribute IS NULL OR p.attribute_id = attribute)
       AND p.month >= date_trunc('month', from_ts, 'UTC') AND p.month < to_ts
       AND p.last_ts >= from_ts AND p.first_ts < to_ts
       AND (entities IS NULL OR (p.first_entity <= (SELECT max(x) FROM unnest(entities) AS x)
                                 AND p.last_entity >= (SELECT min(x) FROM unnest(entities) AS x)
                                 AND p.entity_ids && entities))
       AND (entities IS NULL OR u.entity_id = ANY (entities))
       AND u.ts >= from_ts AND u.ts < to_ts
$function$;
