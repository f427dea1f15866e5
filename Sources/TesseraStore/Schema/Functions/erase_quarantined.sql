-- An erasure's reach into the quarantine: removes the tenant's quarantined points of the erased entities
-- (attribute NULL) or of one attribute's range; typed rows go, a refused request's COPY text loses the lines of those
-- points (and goes when none is left). Returns the points removed. Only for the transaction's own tenant.
-- Called by Catalog.erasePoints (entity and subject erasure) and Catalog.eraseSeries, in the erasure's transaction,
-- under the deletion lock (AdvisoryLock.deletion); takes row locks on the tenant's COPY-text quarantine rows.
-- Last defined in 0019_erasure_reaches_the_quarantine.sql.
CREATE OR REPLACE FUNCTION public.erase_quarantined(tenant bigint, entity_ids bigint[], attribute integer, from_ts timestamp with time zone, to_ts timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    erased bigint := 0;
    typed bigint;
    held record;
    kept text;
    kept_lines integer;
    all_lines integer;
BEGIN
    IF tenant IS DISTINCT FROM nullif(current_setting('tessera.tenant_id', true), '')::bigint THEN
        RAISE EXCEPTION 'erase_quarantined: tenant % is not this transaction''s tenant', tenant USING ERRCODE = '42501';
    END IF;
    IF attribute IS NOT NULL AND (from_ts IS NULL OR to_ts IS NULL) THEN
        RAISE EXCEPTION 'erase_quarantined: a range needs both ends (-infinity and infinity for open ones)' USING ERRCODE = '22023';
    END IF;
    DELETE FROM ingest_quarantine
     WHERE tenant_id = tenant AND copy_data IS NULL AND entity_id = ANY(entity_ids)
       AND (attribute IS NULL OR (attribute_id = attribute AND ts >= from_ts AND ts < to_ts));
    GET DIAGNOSTICS typed = ROW_COUNT;
    erased := typed;
    -- Only the rows whose text holds one of the ids between tabs are split into lines (a cheap
    -- byte search; a match in another column only costs the split).
    FOR held IN SELECT q.quarantine_id, q.copy_data FROM ingest_quarantine AS q
                 WHERE q.tenant_id = tenant AND q.copy_data IS NOT NULL
                   AND EXISTS (SELECT 1 FROM unnest(entity_ids) AS e(id)
                                WHERE position(convert_to(E'\t' || e.id || E'\t', 'UTF8') IN q.copy_data) > 0)
                 ORDER BY q.quarantine_id FOR UPDATE OF q LOOP
        SELECT count(*)::integer,
               count(*) FILTER (WHERE NOT erased_line)::integer,
               string_agg(line || E'\n', '' ORDER BY n) FILTER (WHERE NOT erased_line)
          INTO all_lines, kept_lines, kept
          FROM (SELECT l.line, l.n,
                       split_part(l.line, E'\t', 2)::bigint = ANY(entity_ids)
                       AND (attribute IS NULL
                            OR (split_part(l.line, E'\t', 3)::integer = attribute
                                AND split_part(l.line, E'\t', 10)::timestamptz >= from_ts
                                AND split_part(l.line, E'\t', 10)::timestamptz < to_ts)) AS erased_line
                  FROM regexp_split_to_table(convert_from(held.copy_data, 'UTF8'), E'\n') WITH ORDINALITY AS l(line, n)
                 WHERE l.line <> '') AS lines;
        IF kept_lines = all_lines THEN
            CONTINUE;
        END IF;
        erased := erased + (all_lines - kept_lines);
        IF kept_lines = 0 THEN
            DELETE FROM ingest_quarantine WHERE quarantine_id = held.quarantine_id;
        ELSE
            UPDATE ingest_quarantine SET copy_data = convert_to(kept, 'UTF8'), copy_rows = kept_lines
             WHERE quarantine_id = held.quarantine_id;
        END IF;
    END LOOP;
    RETURN erased;
END
$function$;
