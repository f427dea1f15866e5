-- Rebuilds a tenant's entity_hot_numbers rows (n0 ... n15 by attributes.number_slot) from its entity_jsonb rows.
-- Called by the attributes_number_slot_changed() trigger when a slot is given or taken back, and by
-- tessera-bench's ReadBenchDataset after a bulk load (and once by 0009 for existing tenants).
-- Locks: none of its own (the trigger runs under 7346812003).
-- Last defined in 0009_hot_number_slots.sql.
CREATE OR REPLACE FUNCTION public.refresh_hot_numbers(tenant bigint)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    slot_columns text;
    slot_values text;
BEGIN
    DELETE FROM entity_hot_numbers WHERE tenant_id = tenant;
    SELECT string_agg(format('n%s', number_slot), ', ' ORDER BY number_slot),
           string_agg(format('CASE WHEN jsonb_typeof(attrs -> %1$L) = ''number'' THEN (attrs -> %1$L)::double precision END', name),
                      ', ' ORDER BY number_slot)
      INTO slot_columns, slot_values
      FROM attributes WHERE tenant_id = tenant AND number_slot IS NOT NULL;
    IF slot_columns IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('INSERT INTO entity_hot_numbers (tenant_id, entity_id, %s) SELECT tenant_id, entity_id, %s '
                   'FROM entity_jsonb WHERE tenant_id = $1 ORDER BY entity_id', slot_columns, slot_values)
      USING tenant;
END
$function$;
