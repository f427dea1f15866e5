-- create_entities() as in 0025, with the tenant's row lock held for less: the new keys are
-- inserted before the lock is taken, and only counted (and any past the cap taken back)
-- under it. Concurrent requests of one tenant that bring new entities were queued behind
-- each other's whole insert (1,000 new keys ~15 ms) and commit; now behind an UPDATE of one
-- row and its commit. The cap stays exact: counts change only under the lock, and a key
-- past it (when concurrent requests took the room this one saw) is deleted in the
-- transaction that made it, before anyone sees it.
-- (BENCHMARKS.md, "New entities at a paced load".)
CREATE OR REPLACE FUNCTION create_entities(tenant bigint, keys text[])
RETURNS TABLE (external_key text, entity_id bigint, created boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    found_keys text[];
    found_ids bigint[];
    missing text[];
    made_keys text[];
    made_ids bigint[];
    room bigint;
    kept integer;
BEGIN
    WITH revived AS (
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = now()
         WHERE e.tenant_id = tenant AND e.external_key = ANY (keys) AND e.is_deleted
        RETURNING e.external_key, e.entity_id
    ), present AS (
        SELECT r.external_key, r.entity_id FROM revived AS r
        UNION ALL
        SELECT e.external_key, e.entity_id FROM entities AS e
         WHERE e.tenant_id = tenant AND e.external_key = ANY (keys) AND NOT e.is_deleted
    )
    SELECT coalesce(array_agg(p.external_key), '{}'), coalesce(array_agg(p.entity_id), '{}') INTO found_keys, found_ids FROM present AS p;
    RETURN QUERY SELECT f.k, f.id, false FROM unnest(found_keys, found_ids) AS f(k, id);

    SELECT array_agg(DISTINCT k ORDER BY k) INTO missing FROM unnest(keys) AS k WHERE NOT (k = ANY (found_keys));
    IF missing IS NULL THEN
        RETURN;
    END IF;
    -- Made first, outside the tenant's lock: concurrent requests of one tenant insert their
    -- keys at once (each waits only for a request making the same key). No more than the
    -- room the tenant had when this statement began: a tenant at its cap makes nothing.
    SELECT t.max_entities - t.entity_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant;
    WITH made AS (
        INSERT INTO entities AS e (tenant_id, external_key)
        SELECT tenant, k FROM unnest(missing) AS k ORDER BY k LIMIT greatest(room, 0)
        ON CONFLICT (tenant_id, external_key) DO NOTHING
        RETURNING e.external_key, e.entity_id
    )
    SELECT coalesce(array_agg(m.external_key ORDER BY m.external_key), '{}'),
           coalesce(array_agg(m.entity_id ORDER BY m.external_key), '{}')
      INTO made_keys, made_ids FROM made AS m;
    IF cardinality(made_keys) > 0 THEN
        -- Then counted under the tenant's row lock, held only to the commit: keys past the cap
        -- (made meanwhile by concurrent requests; the last in key order) are taken back unseen.
        -- FOR NO KEY UPDATE: the insert above holds the row FOR KEY SHARE (the foreign key),
        -- as do concurrent requests' inserts, and FOR UPDATE would wait for them (deadlock).
        SELECT t.max_entities - t.entity_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR NO KEY UPDATE;
        kept := least(cardinality(made_keys), greatest(room, 0));
        IF kept < cardinality(made_keys) THEN
            DELETE FROM entities AS e WHERE e.tenant_id = tenant AND e.entity_id = ANY (made_ids[kept + 1:]);
        END IF;
        IF kept > 0 THEN
            UPDATE tenants AS t SET entity_count = t.entity_count + kept WHERE t.tenant_id = tenant;
        END IF;
        RETURN QUERY SELECT f.k, f.id, true FROM unnest(made_keys[1:kept], made_ids[1:kept]) AS f(k, id);
    END IF;
    -- Made by another request after this one looked (a conflict above, or committed between
    -- the first statement and the insert): theirs to count. (Keys made here come again; callers
    -- keep one id a key.)
    RETURN QUERY
    SELECT e.external_key, e.entity_id, false FROM entities AS e
     WHERE e.tenant_id = tenant AND e.external_key = ANY (missing) AND NOT e.is_deleted;
END
$$;
