-- The ids of the tenant's entities with these keys: live ones as they are, deleted ones brought back, missing
-- ones created (key order, created = true) while max_entities leaves room; keys past the cap are left out.
-- Called by IngestResolver.createOrFindEntities (ingest) and Catalog.upsertEntity.
-- Locks: the tenant's row FOR UPDATE when keys are missing; no advisory lock.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- One lookup finds every existing key (live, or deleted and brought back by id); the keys to create are those it
-- did not find (so one created meanwhile by a concurrent request is returned by the last statement, which reads only
-- the keys this call tried to make and did not).
-- Last defined in 0026_entities_created_with_fewer_lookups.sql (also 0011_enforced_quotas.sql, 0025).
CREATE OR REPLACE FUNCTION public.create_entities(tenant bigint, keys text[])
 RETURNS TABLE(external_key text, entity_id bigint, created boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
DECLARE
    found_keys text[];
    found_ids bigint[];
    deleted_ids bigint[];
    missing text[];
    made_keys text[];
    made_ids bigint[];
    others text[];
    room bigint;
    made bigint;
BEGIN
    SELECT coalesce(array_agg(e.external_key), '{}'), coalesce(array_agg(e.entity_id), '{}'),
           coalesce(array_agg(e.entity_id) FILTER (WHERE e.is_deleted), '{}')
      INTO found_keys, found_ids, deleted_ids
      FROM entities AS e
     WHERE e.tenant_id = tenant AND e.external_key = ANY (keys);
    IF cardinality(deleted_ids) > 0 THEN
        -- Deleted entities come back with their ids (a concurrent request may have already).
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = now()
         WHERE e.tenant_id = tenant AND e.entity_id = ANY (deleted_ids) AND e.is_deleted;
    END IF;
    RETURN QUERY SELECT f.k, f.id, false FROM unnest(found_keys, found_ids) AS f(k, id);

    SELECT array_agg(DISTINCT k ORDER BY k) INTO missing FROM unnest(keys) AS k WHERE NOT (k = ANY (found_keys));
    IF missing IS NULL THEN
        RETURN;
    END IF;
    SELECT t.max_entities - t.entity_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR UPDATE;
    WITH inserted AS (
        INSERT INTO entities AS e (tenant_id, external_key)
        SELECT tenant, k FROM unnest(missing) AS k ORDER BY k LIMIT greatest(room, 0)
        ON CONFLICT (tenant_id, external_key) DO NOTHING
        RETURNING e.external_key, e.entity_id
    )
    SELECT coalesce(array_agg(i.external_key), '{}'), coalesce(array_agg(i.entity_id), '{}')
      INTO made_keys, made_ids FROM inserted AS i;
    made := cardinality(made_keys);
    IF made > 0 THEN
        UPDATE tenants AS t SET entity_count = t.entity_count + made WHERE t.tenant_id = tenant;
        RETURN QUERY SELECT f.k, f.id, true FROM unnest(made_keys, made_ids) AS f(k, id);
    END IF;
    -- Keys it tried to make and did not: made by another request after this one looked (a
    -- conflict above, or committed between the first statement and the insert), theirs to
    -- count; and keys past the cap, which are not there.
    others := array(SELECT k FROM unnest(missing) AS k EXCEPT SELECT m FROM unnest(made_keys) AS m);
    IF cardinality(others) > 0 THEN
        RETURN QUERY
        SELECT e.external_key, e.entity_id, false FROM entities AS e
         WHERE e.tenant_id = tenant AND e.external_key = ANY (others) AND NOT e.is_deleted;
    END IF;
END
$function$;
