-- Re-issues a tenant's key 'default' (admin): the live one is revoked and replaced; the owner's (SECURITY DEFINER).
-- Called by Catalog.rotateKey (the demo tenant of `serve --demo`).
-- Locks: the tenant's row.
-- Last defined in 0014_api_keys.sql (also 0013).
CREATE OR REPLACE FUNCTION public.rotate_tenant_key(tenant_name text, key_hash bytea, key_prefix text)
 RETURNS TABLE(tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer, max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    target tenants;
    successor bigint;
BEGIN
    SELECT * INTO target FROM tenants AS t WHERE t.name = tenant_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE api_keys AS k SET revoked_at = now()
     WHERE k.tenant_id = target.tenant_id AND k.name = 'default' AND k.revoked_at IS NULL;
    INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix)
    VALUES (target.tenant_id, 'default', 'admin', rotate_tenant_key.key_hash, rotate_tenant_key.key_prefix)
    RETURNING key_id INTO successor;
    UPDATE api_keys AS k SET replaced_by = successor
     WHERE k.tenant_id = target.tenant_id AND k.name = 'default' AND k.key_id <> successor AND k.replaced_by IS NULL
       AND k.revoked_at IS NOT NULL AND k.revoked_at = now();
    RETURN QUERY SELECT target.tenant_id, target.name, target.auto_create_attributes, target.retention_months,
                        target.max_entities, target.max_attributes, target.max_points_per_second, target.created_at;
END
$function$;
