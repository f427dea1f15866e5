-- Trigger function of AFTER UPDATE OF hot ON attributes (trigger attributes_number_slot_changed, WHEN the
-- number_slot changed): rebuilds the tenant's entity_hot_numbers rows with refresh_hot_numbers().
-- No Swift calls it: it fires when put_attribute() (Catalog.putAttribute) makes an attribute hot or not.
-- Locks: none of its own; runs under the 7346812003 lock attributes_number_slot() took for the change.
-- Last defined in 0009_hot_number_slots.sql.
CREATE OR REPLACE FUNCTION public.attributes_number_slot_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM refresh_hot_numbers(NEW.tenant_id);
    RETURN NULL;
END
$function$;
