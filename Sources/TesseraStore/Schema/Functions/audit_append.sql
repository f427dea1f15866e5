-- Appends a batch of audit entries (arrays of one length, one element an entry; 0 for no tenant or key, '' for no
-- address or request id); returns how many. The owner's (SECURITY DEFINER): tessera_app cannot insert into audit_log.
-- Called by AuditTrail (every second, with the entries the server recorded).
-- Locks: none.
-- Last defined in 0015_audit_trail.sql.
CREATE OR REPLACE FUNCTION public.audit_append(tenant_ids bigint[], key_ids bigint[], actors text[], actions text[], targets text[], statuses integer[], client_addresses text[], request_ids text[], ats timestamp with time zone[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    appended integer;
BEGIN
    INSERT INTO audit_log (tenant_id, key_id, actor, action, target, status, client_address, request_id, at)
    SELECT nullif(u.tenant_id, 0), nullif(u.key_id, 0), u.actor, u.action, u.target, u.status,
           nullif(u.client_address, ''), nullif(u.request_id, ''), u.at
      FROM unnest(tenant_ids, key_ids, actors, actions, targets, statuses, client_addresses, request_ids, ats)
           AS u(tenant_id, key_id, actor, action, target, status, client_address, request_id, at);
    GET DIAGNOSTICS appended = ROW_COUNT;
    RETURN appended;
END
$function$;
