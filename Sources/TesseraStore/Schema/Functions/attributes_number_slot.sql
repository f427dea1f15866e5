-- Trigger function of BEFORE INSERT OR UPDATE OF hot ON attributes (trigger attributes_number_slot): a hot int
-- or decimal attribute takes the tenant's lowest free number_slot (0-15); one that stops being hot gives its slot back.
-- An INSERT of a name that exists leaves the slot to its ON CONFLICT UPDATE. No Swift calls it: it fires on
-- attribute writes (put_attribute(), create_attributes()).
-- Locks: pg_advisory_xact_lock(7346812003) (deletion lock, exclusive), only when a slot is given or taken back.
-- Last defined in 0009_hot_number_slots.sql.
CREATE OR REPLACE FUNCTION public.attributes_number_slot()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = NEW.tenant_id AND a.name = NEW.name) THEN
        RETURN NEW;
    END IF;
    IF NEW.hot AND NEW.value_type IN ('int', 'decimal') THEN
        IF NEW.number_slot IS NULL THEN
            PERFORM pg_advisory_xact_lock(7346812003);
            SELECT min(s) INTO NEW.number_slot
              FROM generate_series(0, 15) AS s
             WHERE NOT EXISTS (SELECT 1 FROM attributes AS a WHERE a.tenant_id = NEW.tenant_id AND a.number_slot = s);
        END IF;
    ELSIF NEW.number_slot IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7346812003);
        NEW.number_slot := NULL;
    END IF;
    RETURN NEW;
END
$function$;
