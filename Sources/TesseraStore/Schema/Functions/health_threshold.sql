-- A threshold of health_check(): the setting tessera.health_<name> (per session or role), else the default given.
-- Called by health_check().
-- Locks: none.
-- Last defined in 0020_health_checks_for_every_alarm.sql.
CREATE OR REPLACE FUNCTION public.health_threshold(name text, fallback double precision)
 RETURNS double precision
 LANGUAGE sql
 STABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT coalesce(nullif(current_setting('tessera.health_' || name, true), '')::double precision, fallback);
$function$;
