-- The audit trail (README: Security): every admin action and every data access, one row
-- each, appended by the servers in batches through audit_append() (the owner's), never
-- changed: tessera_app may read its tenant's rows behind the wall, and neither insert
-- directly, update nor delete. Runs as tessera_owner.

CREATE TABLE audit_log (
    audit_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      bigint,            -- NULL: an admin action about no one tenant (creating one)
    key_id         bigint,            -- the tenant's API key; NULL for the admin token
    actor          text        NOT NULL CHECK (actor IN ('key', 'admin')),
    action         text        NOT NULL,   -- method and route: 'GET /v1/entities/{key}'
    target         text        NOT NULL,   -- the path asked for: '/v1/entities/dev-1'
    status         integer     NOT NULL,   -- the HTTP status answered
    client_address text,
    request_id     text,
    at             timestamptz NOT NULL    -- when the server received the request
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at, audit_id);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON audit_log
    USING (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint);
CREATE POLICY owner_all ON audit_log TO tessera_owner USING (true) WITH CHECK (true);
GRANT SELECT ON audit_log TO tessera_app;

-- Appends a batch of entries (arrays of one length, one element an entry; 0 for no tenant
-- or key, '' for no address or request id); returns how many.
CREATE FUNCTION audit_append(tenant_ids bigint[], key_ids bigint[], actors text[], actions text[], targets text[],
                             statuses integer[], client_addresses text[], request_ids text[], ats timestamptz[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION audit_append(bigint[], bigint[], text[], text[], text[], integer[], text[], text[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(bigint[], bigint[], text[], text[], text[], integer[], text[], text[], timestamptz[]) TO tessera_app;
