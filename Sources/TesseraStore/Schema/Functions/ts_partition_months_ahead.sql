-- How many consecutive monthly partitions exist from the current UTC month on (at most 120).
-- Called by health_check() (the partitions_ahead check); no Swift source calls it (SchemaTests does).
-- Locks: none.
-- Last defined in 0001_schema.sql (never replaced).
CREATE OR REPLACE FUNCTION public.ts_partition_months_ahead()
 RETURNS integer
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    months integer := 0;
    month_start date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    WHILE months < 120
          AND to_regclass('entity_values_ts_p' || to_char(month_start + make_interval(months => months), 'YYYYMM')) IS NOT NULL
    LOOP
        months := months + 1;
    END LOOP;
    RETURN months;
END
$function$;
