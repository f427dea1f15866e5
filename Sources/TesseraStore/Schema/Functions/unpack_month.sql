-- A whole month's packs back into rows (every tenant), and its packed_months row removed; returns how many points.
-- Called by MonthArchiver.export (before the rows are exported) and MonthArchiver.unpack (`tessera archive unpack`).
-- Locks: 7346812003 exclusively, row locks of the packs.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed); not granted to tessera_app.
-- Last defined in 0027_cold_months_packed.sql.
CREATE OR REPLACE FUNCTION public.unpack_month(month date)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    tenant bigint;
    points bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812003);
    FOR tenant IN SELECT DISTINCT p.tenant_id FROM entity_values_packed AS p WHERE p.month = month_start LOOP
        points := points + unpack_values(tenant, NULL, NULL, month_start, month_end);
    END LOOP;
    DELETE FROM packed_months AS m WHERE m.month = month_start;
    RETURN points;
END
$function$;
