-- Tessera schema, version 4: the flush says what it changed, for the cache.
-- move_staged() and stage_flush() now also return the tenants whose rows moved
-- (their cached query results are out of date), the (tenant, entity) pairs
-- whose projection row changed (their cached lookups are out of date), and the
-- flush's time, which is the new `updated_at` of every projection row it wrote.
DROP FUNCTION stage_flush();
DROP FUNCTION move_staged(bigint);

CREATE FUNCTION move_staged(only_batch bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], flushed_at_us bigint)
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM entity_values_ingest
         WHERE only_batch IS NULL OR batch_id = only_batch
        RETURNING *
    ), stored AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ts, ingested_at)
        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
               value_bool, value_ts, value_json, ts, ingested_at
          FROM moved
         ORDER BY tenant_id, attribute_id, ts
    ), flushed AS (
        INSERT INTO ingest_flushed_batches (batch_id)
        SELECT DISTINCT batch_id FROM moved
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING 1
    ), latest AS (
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id)
               m.tenant_id, m.entity_id, a.name,
               (extract(epoch FROM m.ts) * 1000000)::bigint AS ts_us,
               CASE WHEN m.value_int IS NOT NULL THEN to_jsonb(m.value_int)
                    WHEN m.value_decimal IS NOT NULL THEN to_jsonb(m.value_decimal)
                    WHEN m.value_text IS NOT NULL THEN to_jsonb(m.value_text)
                    WHEN m.value_bool IS NOT NULL THEN to_jsonb(m.value_bool)
                    WHEN m.value_ts IS NOT NULL THEN to_jsonb(m.value_ts)
                    ELSE m.value_json END AS value
          FROM moved AS m
          JOIN attributes AS a ON a.tenant_id = m.tenant_id AND a.attribute_id = m.attribute_id AND a.hot
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts DESC
    ), per_entity AS (
        SELECT tenant_id, entity_id, jsonb_object_agg(name, value) AS attrs, jsonb_object_agg(name, ts_us) AS attr_ts
          FROM latest
         GROUP BY tenant_id, entity_id
    ), projected AS (
        INSERT INTO entity_jsonb AS p (tenant_id, entity_id, attrs, attr_ts, updated_at)
        SELECT tenant_id, entity_id, attrs, attr_ts, now() FROM per_entity ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET attrs = p.attrs || coalesce((
                   SELECT jsonb_object_agg(n.key, EXCLUDED.attrs -> n.key)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               attr_ts = p.attr_ts || coalesce((
                   SELECT jsonb_object_agg(n.key, n.value::bigint)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               updated_at = now()
         WHERE EXISTS (
                   SELECT 1 FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
        RETURNING p.tenant_id, p.entity_id
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM flushed), (SELECT count(*) FROM projected),
           coalesce((SELECT array_agg(DISTINCT tenant_id) FROM moved), '{}'),
           coalesce((SELECT array_agg(tenant_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           coalesce((SELECT array_agg(entity_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           (extract(epoch FROM now()) * 1000000)::bigint
$$;

-- The 100 ms flush: everything staged, at most one at a time across all servers
-- (a second caller gets moved_rows = -1 at once instead of waiting).
CREATE FUNCTION stage_flush()
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], flushed_at_us bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM now()) * 1000000)::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM move_staged(NULL);
END
$$;
