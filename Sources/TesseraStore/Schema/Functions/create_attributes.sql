-- Creates the named attributes (with their types) that the tenant lacks, in name order, up to the room its
-- max_attributes leaves; adds them to tenants.attribute_count; returns how many it created.
-- Called by IngestResolver (auto-created attributes on ingest).
-- Locks: the tenant's row FOR UPDATE (creators of one tenant take turns); no advisory lock of its own.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0011_enforced_quotas.sql.
CREATE OR REPLACE FUNCTION public.create_attributes(tenant bigint, names text[], types text[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
$function$;
