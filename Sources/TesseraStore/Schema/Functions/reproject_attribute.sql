-- After an erasure of points of one hot attribute of one entity: sets the projection's value (and its number slot)
-- to the latest point left, or removes it when none is left; returns the projection's new version (µs), or NULL
-- when nothing changed. The owner's (SECURITY DEFINER): tessera_app cannot update entity_jsonb or entity_hot_numbers.
-- Called by Catalog.eraseSeries (DELETE /v1/entities/{key}/series/{attribute}).
-- Locks: none of its own (the caller holds the deletion lock, 7346812003).
-- Last defined in 0017_erasure.sql.
CREATE OR REPLACE FUNCTION public.reproject_attribute(tenant bigint, entity bigint, attribute integer)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    attr record;
    point record;
    value jsonb;
    number double precision;
    changed timestamptz := clock_timestamp();
BEGIN
    SELECT name, hot, number_slot INTO attr FROM attributes WHERE tenant_id = tenant AND attribute_id = attribute;
    IF NOT FOUND OR NOT attr.hot THEN
        RETURN NULL;
    END IF;
    SELECT * INTO point FROM latest_points(tenant, entity, ARRAY[attribute]);
    IF FOUND THEN
        value := CASE WHEN point.value_int IS NOT NULL THEN to_jsonb(point.value_int)
                      WHEN point.value_decimal IS NOT NULL THEN to_jsonb(point.value_decimal)
                      WHEN point.value_text IS NOT NULL THEN to_jsonb(point.value_text)
                      WHEN point.value_bool IS NOT NULL THEN to_jsonb(point.value_bool)
                      WHEN point.value_ts IS NOT NULL THEN to_jsonb(to_char(point.value_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                      ELSE point.value_json END;
        UPDATE entity_jsonb
           SET attrs = attrs || jsonb_build_object(attr.name, value),
               attr_ts = attr_ts || jsonb_build_object(attr.name, (extract(epoch FROM point.ts) * 1000000)::bigint),
               updated_at = changed
         WHERE tenant_id = tenant AND entity_id = entity
           AND (attrs -> attr.name IS DISTINCT FROM value
                OR (attr_ts ->> attr.name)::bigint IS DISTINCT FROM (extract(epoch FROM point.ts) * 1000000)::bigint);
    ELSE
        UPDATE entity_jsonb
           SET attrs = attrs - attr.name, attr_ts = attr_ts - attr.name, updated_at = changed
         WHERE tenant_id = tenant AND entity_id = entity AND attr_ts ? attr.name;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF attr.number_slot IS NOT NULL THEN
        number := CASE WHEN jsonb_typeof(value) = 'number' THEN value::double precision END;
        EXECUTE format('UPDATE entity_hot_numbers SET n%s = $1 WHERE tenant_id = $2 AND entity_id = $3', attr.number_slot)
          USING number, tenant, entity;
    END IF;
    RETURN (extract(epoch FROM changed) * 1000000)::bigint;
END
$function$;
