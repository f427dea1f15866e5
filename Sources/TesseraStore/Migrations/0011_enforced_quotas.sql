-- Tessera schema, version 11: the tenant's caps on entities and attributes are
-- enforced, race-free, and creating attributes no longer burns identity values.
--
-- max_entities and max_attributes were stored and shown, but the attribute cap was a
-- count then an insert (two requests could both pass it) and the entity cap was
-- checked nowhere. Each tenant row now carries how many entity and attribute rows the
-- tenant has; the functions below create entities and attributes under a lock on that
-- row (FOR UPDATE: creators of one tenant take turns, other tenants are not touched),
-- up to the room the cap leaves, and add what they created to the count. A deleted
-- entity keeps its row (writing to its key again brings it back), so it still counts.
--
-- `INSERT ... ON CONFLICT DO NOTHING/UPDATE` takes an identity value before it finds
-- the conflict: every `PUT /v1/attributes` of an existing attribute burned one of
-- attribute_id's 2^31. Existing rows are now updated, and only names not there are
-- inserted.
ALTER TABLE tenants ADD COLUMN entity_count bigint NOT NULL DEFAULT 0,
                    ADD COLUMN attribute_count integer NOT NULL DEFAULT 0;
UPDATE tenants AS t
   SET entity_count = (SELECT count(*) FROM entities AS e WHERE e.tenant_id = t.tenant_id),
       attribute_count = (SELECT count(*) FROM attributes AS a WHERE a.tenant_id = t.tenant_id);

-- The ids of the tenant's entities with these keys: live ones as they are, deleted ones
-- brought back, missing ones created while the tenant's max_entities leaves room (in key
-- order; `created` says so). Keys past the cap are left out of the answer.
CREATE FUNCTION create_entities(tenant bigint, keys text[])
RETURNS TABLE (external_key text, entity_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    missing text[];
    room bigint;
    made bigint;
BEGIN
    RETURN QUERY
    WITH revived AS (
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = now()
         WHERE e.tenant_id = tenant AND e.external_key = ANY (keys) AND e.is_deleted
        RETURNING e.external_key, e.entity_id
    )
    SELECT r.external_key, r.entity_id, false FROM revived AS r
    UNION ALL
    SELECT e.external_key, e.entity_id, false FROM entities AS e
     WHERE e.tenant_id = tenant AND e.external_key = ANY (keys) AND NOT e.is_deleted;

    SELECT array_agg(k ORDER BY k) INTO missing FROM unnest(keys) AS k
     WHERE NOT EXISTS (SELECT 1 FROM entities AS e WHERE e.tenant_id = tenant AND e.external_key = k);
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
    -- Made by another request after this one looked (a conflict above): theirs to count.
    -- (Keys made here come again; callers keep one id a key.)
    RETURN QUERY
    SELECT e.external_key, e.entity_id, false FROM entities AS e
     WHERE e.tenant_id = tenant AND e.external_key = ANY (missing) AND NOT e.is_deleted;
END
$$;

-- Creates the named attributes (with their types) that the tenant does not have, while
-- its max_attributes leaves room, in name order; returns how many it created.
CREATE FUNCTION create_attributes(tenant bigint, names text[], types text[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    room integer;
    made integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unnest(names) AS n
                    WHERE NOT EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = tenant AND a.name = n)) THEN
        RETURN 0;
    END IF;
    SELECT t.max_attributes - t.attribute_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR UPDATE;
    INSERT INTO attributes (tenant_id, name, value_type)
    SELECT tenant, n.name, n.value_type FROM unnest(names, types) AS n(name, value_type)
     WHERE NOT EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = tenant AND a.name = n.name)
     ORDER BY n.name
     LIMIT greatest(room, 0)
    ON CONFLICT (tenant_id, name) DO NOTHING;
    GET DIAGNOSTICS made = ROW_COUNT;
    IF made > 0 THEN
        UPDATE tenants AS t SET attribute_count = t.attribute_count + made WHERE t.tenant_id = tenant;
    END IF;
    RETURN made;
END
$$;

-- PUT /v1/attributes/{name}: updates the attribute when it exists with this type, else
-- creates it while the cap leaves room. Answers 'updated', 'created', 'type_conflict'
-- or 'quota'.
CREATE FUNCTION put_attribute(tenant bigint, attribute_name text, attribute_type text, is_hot boolean,
                              is_critical boolean, attribute_unit text, attribute_description text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    room integer;
BEGIN
    FOR attempt IN 1 .. 2 LOOP
        UPDATE attributes AS a
           SET hot = is_hot, critical = is_critical, unit = attribute_unit, description = attribute_description, updated_at = now()
         WHERE a.tenant_id = tenant AND a.name = attribute_name AND a.value_type = attribute_type;
        IF FOUND THEN
            RETURN 'updated';
        END IF;
        IF EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = tenant AND a.name = attribute_name) THEN
            RETURN 'type_conflict';
        END IF;
        IF attempt = 1 THEN
            -- Creators of this tenant take turns from here; look again once it is ours.
            SELECT t.max_attributes - t.attribute_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR UPDATE;
        END IF;
    END LOOP;
    IF room <= 0 THEN
        RETURN 'quota';
    END IF;
    INSERT INTO attributes (tenant_id, name, value_type, hot, critical, unit, description)
    VALUES (tenant, attribute_name, attribute_type, is_hot, is_critical, attribute_unit, attribute_description);
    UPDATE tenants AS t SET attribute_count = t.attribute_count + 1 WHERE t.tenant_id = tenant;
    RETURN 'created';
END
$$;
