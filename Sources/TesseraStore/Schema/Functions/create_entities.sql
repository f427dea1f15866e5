-- The ids of the tenant's entities with these keys: live ones as they are, deleted ones brought back, missing
-- ones created (key order, created = true) while max_entities leaves room; keys past the cap are left out.
-- Called by IngestResolver.createOrFindEntities (ingest) and Catalog.upsertEntity.
-- Locks: the tenant's row FOR UPDATE when keys are missing; no advisory lock.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- The keys to create are those its first statement did not return (so one created meanwhile by a concurrent
-- request is returned by the last statement, never lost between the two).
-- Last defined in 0025_entities_made_concurrently.sql (first in 0011_enforced_quotas.sql).
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
    missing text[];
    room bigint;
    made bigint;
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
    SELECT t.max_entities - t.entity_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR UPDATE;
    RETURN QUERY
    INSERT INTO entities AS e (tenant_id, external_key)
    SELECT tenant, k FROM unnest(missing) AS k ORDER BY k LIMIT greatest(room, 0)
    ON CONFLICT (tenant_id, external_key) DO NOTHING
    RETURNING e.external_key, e.entity_id, true;
    GET DIAGNOSTICS made = ROW_COUNT;
    IF made > 0 THEN
        UPDATE tenants AS t SET entity_count = t.entity_count + made WHERE t.tenant_id = tenant;
    END IF;
    -- Made by another request after this one looked (a conflict above, or committed between
    -- the first statement and the insert): theirs to count. (Keys made here come again; callers
    -- keep one id a key.)
    RETURN QUERY
    SELECT e.external_key, e.entity_id, false FROM entities AS e
     WHERE e.tenant_id = tenant AND e.external_key = ANY (missing) AND NOT e.is_deleted;
END
$function$;
