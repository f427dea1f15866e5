-- Attributes whose values are personal data (README: Security, "Crypto-shredding"): `pii`,
-- fixed at creation like the type. Their values are stored encrypted under the entity's data
-- key; they are never hot (the projection, its GIN index and the number slots hold plain
-- values), and filters and aggregates on them are refused. Runs as tessera_owner.

ALTER TABLE attributes ADD COLUMN pii boolean NOT NULL DEFAULT false;
ALTER TABLE attributes ADD CONSTRAINT attributes_pii_not_hot CHECK (NOT (pii AND hot));

-- PUT /v1/attributes/{name} with the pii flag: 'pii_conflict' when it exists with the other.
DROP FUNCTION put_attribute(bigint, text, text, boolean, boolean, text, text);
CREATE FUNCTION put_attribute(tenant bigint, attribute_name text, attribute_type text, is_hot boolean, is_critical boolean,
                              attribute_unit text, attribute_description text, is_pii boolean)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    room integer;
BEGIN
    FOR attempt IN 1 .. 2 LOOP
        UPDATE attributes AS a
           SET hot = is_hot, critical = is_critical, unit = attribute_unit, description = attribute_description, updated_at = now()
         WHERE a.tenant_id = tenant AND a.name = attribute_name AND a.value_type = attribute_type AND a.pii = is_pii;
        IF FOUND THEN
            RETURN 'updated';
        END IF;
        IF EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = tenant AND a.name = attribute_name AND a.value_type <> attribute_type) THEN
            RETURN 'type_conflict';
        END IF;
        IF EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = tenant AND a.name = attribute_name) THEN
            RETURN 'pii_conflict';
        END IF;
        IF attempt = 1 THEN
            -- Creators of this tenant take turns from here; look again once it is ours.
            SELECT t.max_attributes - t.attribute_count INTO room FROM tenants AS t WHERE t.tenant_id = tenant FOR UPDATE;
        END IF;
    END LOOP;
    IF room <= 0 THEN
        RETURN 'quota';
    END IF;
    INSERT INTO attributes (tenant_id, name, value_type, hot, critical, unit, description, pii)
    VALUES (tenant, attribute_name, attribute_type, is_hot, is_critical, attribute_unit, attribute_description, is_pii);
    UPDATE tenants AS t SET attribute_count = t.attribute_count + 1 WHERE t.tenant_id = tenant;
    RETURN 'created';
END
$$;

REVOKE ALL ON FUNCTION put_attribute(bigint, text, text, boolean, boolean, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION put_attribute(bigint, text, text, boolean, boolean, text, text, boolean) TO tessera_app;
