-- PUT /v1/attributes/{name}: updates the attribute (hot, critical, unit, description) when it exists with this type
-- and pii flag, else creates it while max_attributes leaves room; answers 'updated', 'created', 'type_conflict',
-- 'pii_conflict' or 'quota'.
-- Called by Catalog.putAttribute.
-- Locks: the tenant's row FOR UPDATE before creating; its writes fire the attributes triggers (7346812003).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0018_pii_attributes.sql (also 0011).
CREATE OR REPLACE FUNCTION public.put_attribute(tenant bigint, attribute_name text, attribute_type text, is_hot boolean, is_critical boolean, attribute_unit text, attribute_description text, is_pii boolean)
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
$function$;
