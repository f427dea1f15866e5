-- Tessera schema, version 3: the read path's one extra index.
-- An entity's series (GET /v1/entities/{key}/series/{attribute}) and the latest
-- value of a non-hot attribute (GET /v1/entities/{key}?attributes=…) look up one
-- entity's points of one attribute by time. The composite (tenant_id,
-- attribute_id, ts) index serves aggregates over a tenant's attribute, but for one
-- entity it walks every entity's points of that attribute: in a tenant of 400k
-- entities a 7-day series read tens of millions of index entries. This index
-- makes both reads a short range scan.
CREATE INDEX entity_values_ts_entity_attribute_ts ON entity_values_ts (tenant_id, entity_id, attribute_id, ts);
