-- Tessera schema, version 12: reads with an open time bound walk the months instead
-- of planning every partition.
--
-- A series read without `from` (or, newest first, without `to`) and the latest point
-- of a non-hot attribute name no time, so PostgreSQL planned and locked every monthly
-- partition of entity_values_ts (and its indexes) for each: hundreds once tenants
-- backfill years. These functions visit the months one at a time, in the read's
-- order, each with a query on that month's partition alone, and stop as soon as the
-- page is full (or every attribute found): the usual read touches a month or two.

-- The months that have a partition, with the partition, in time order.
CREATE FUNCTION ts_partition_months()
RETURNS TABLE (month date, partition regclass)
LANGUAGE sql STABLE AS $$
    SELECT to_date(substr(c.relname, 19), 'YYYYMM'), c.oid::regclass
      FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'entity_values_ts'::regclass AND c.relname ~ '^entity_values_ts_p[0-9]{6}$'
     ORDER BY 1
$$;

-- One page of an entity's series of one attribute: points with from_ts <= ts < to_ts,
-- after after_ts in the page's order (ascending unless descending), at most max_rows.
CREATE FUNCTION series_points(tenant bigint, entity bigint, attribute integer, from_ts timestamptz, to_ts timestamptz,
                              after_ts timestamptz, descending boolean, max_rows integer)
RETURNS TABLE (ts timestamptz, value_int bigint, value_decimal double precision, value_text text, value_bool boolean,
               value_ts timestamptz, value_json jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    part record;
    got integer := 0;
    n integer;
    low timestamptz := greatest(from_ts, CASE WHEN descending THEN NULL ELSE after_ts END);
    high timestamptz := least(to_ts, CASE WHEN descending THEN after_ts ELSE NULL END);
BEGIN
    FOR part IN
        SELECT p.partition FROM ts_partition_months() AS p
         WHERE (low IS NULL OR (p.month + interval '1 month') > low) AND (high IS NULL OR p.month <= high)
         ORDER BY CASE WHEN descending THEN NULL ELSE p.month END ASC, p.month DESC
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json FROM %s
              WHERE tenant_id = $1 AND entity_id = $2 AND attribute_id = $3
                AND ($4::timestamptz IS NULL OR ts >= $4) AND ($5::timestamptz IS NULL OR ts < $5)
                AND ($6::timestamptz IS NULL OR ts %s $6)
              ORDER BY ts %s LIMIT $7',
            part.partition, CASE WHEN descending THEN '<' ELSE '>' END, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END)
            USING tenant, entity, attribute, from_ts, to_ts, after_ts, max_rows - got;
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN got >= max_rows;
    END LOOP;
END
$$;

-- The latest point of each of the attributes of one entity, newest month first,
-- stopping once every attribute has one (attributes without any are left out).
CREATE FUNCTION latest_points(tenant bigint, entity bigint, attribute_ids integer[])
RETURNS TABLE (attribute_id integer, ts timestamptz, value_int bigint, value_decimal double precision, value_text text,
               value_bool boolean, value_ts timestamptz, value_json jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    part record;
    point record;
    missing integer[] := attribute_ids;
BEGIN
    FOR part IN SELECT p.partition FROM ts_partition_months() AS p ORDER BY p.month DESC LOOP
        EXIT WHEN cardinality(missing) = 0;
        FOR point IN EXECUTE format(
            'SELECT DISTINCT ON (t.attribute_id) t.attribute_id, t.ts, t.value_int, t.value_decimal, t.value_text,
                    t.value_bool, t.value_ts, t.value_json
               FROM %s AS t
              WHERE t.tenant_id = $1 AND t.entity_id = $2 AND t.attribute_id = ANY ($3)
              ORDER BY t.attribute_id, t.ts DESC', part.partition)
            USING tenant, entity, missing
        LOOP
            attribute_id := point.attribute_id;
            ts := point.ts;
            value_int := point.value_int;
            value_decimal := point.value_decimal;
            value_text := point.value_text;
            value_bool := point.value_bool;
            value_ts := point.value_ts;
            value_json := point.value_json;
            RETURN NEXT;
            missing := array_remove(missing, point.attribute_id);
        END LOOP;
    END LOOP;
END
$$;
