-- Number slots' indexes that row-level security lets PostgreSQL use (README: Security).
--
-- Each slot's index keyed on the expression (tenant_id * 16 + slot) (migration 0009, which
-- says why: a distinct tenant clause per slot, so two slots' bitmaps can be ANDed). Under
-- row-level security PostgreSQL uses a query's condition as an index condition only when
-- the functions it applies to the table's columns are leakproof, and int8mul and int8pl are
-- not: as tessera_app a filter's index found its range across every tenant's rows, and
-- filtered by tenant after (BENCHMARKS.md, "The tenant wall": p95 2x). Only a superuser
-- can mark a function LEAKPROOF, and RDS has none. So the keys become stored columns,
-- k0 ... k15 = tenant_id * 16 + slot, and the indexes key on them: a query's condition
-- k<slot> = $1 * 16 + <slot> compares a column with a value (int8eq, leakproof).
-- Rewrites entity_hot_numbers once. Runs as tessera_owner.

DROP STATISTICS entity_hot_numbers_slots_0_6;
DROP STATISTICS entity_hot_numbers_slots_7_13;
DROP STATISTICS entity_hot_numbers_slots_14_15;
DROP INDEX entity_hot_numbers_n0;
DROP INDEX entity_hot_numbers_n1;
DROP INDEX entity_hot_numbers_n2;
DROP INDEX entity_hot_numbers_n3;
DROP INDEX entity_hot_numbers_n4;
DROP INDEX entity_hot_numbers_n5;
DROP INDEX entity_hot_numbers_n6;
DROP INDEX entity_hot_numbers_n7;
DROP INDEX entity_hot_numbers_n8;
DROP INDEX entity_hot_numbers_n9;
DROP INDEX entity_hot_numbers_n10;
DROP INDEX entity_hot_numbers_n11;
DROP INDEX entity_hot_numbers_n12;
DROP INDEX entity_hot_numbers_n13;
DROP INDEX entity_hot_numbers_n14;
DROP INDEX entity_hot_numbers_n15;

ALTER TABLE entity_hot_numbers
    ADD COLUMN k0 bigint GENERATED ALWAYS AS (tenant_id * 16 + 0) STORED,
    ADD COLUMN k1 bigint GENERATED ALWAYS AS (tenant_id * 16 + 1) STORED,
    ADD COLUMN k2 bigint GENERATED ALWAYS AS (tenant_id * 16 + 2) STORED,
    ADD COLUMN k3 bigint GENERATED ALWAYS AS (tenant_id * 16 + 3) STORED,
    ADD COLUMN k4 bigint GENERATED ALWAYS AS (tenant_id * 16 + 4) STORED,
    ADD COLUMN k5 bigint GENERATED ALWAYS AS (tenant_id * 16 + 5) STORED,
    ADD COLUMN k6 bigint GENERATED ALWAYS AS (tenant_id * 16 + 6) STORED,
    ADD COLUMN k7 bigint GENERATED ALWAYS AS (tenant_id * 16 + 7) STORED,
    ADD COLUMN k8 bigint GENERATED ALWAYS AS (tenant_id * 16 + 8) STORED,
    ADD COLUMN k9 bigint GENERATED ALWAYS AS (tenant_id * 16 + 9) STORED,
    ADD COLUMN k10 bigint GENERATED ALWAYS AS (tenant_id * 16 + 10) STORED,
    ADD COLUMN k11 bigint GENERATED ALWAYS AS (tenant_id * 16 + 11) STORED,
    ADD COLUMN k12 bigint GENERATED ALWAYS AS (tenant_id * 16 + 12) STORED,
    ADD COLUMN k13 bigint GENERATED ALWAYS AS (tenant_id * 16 + 13) STORED,
    ADD COLUMN k14 bigint GENERATED ALWAYS AS (tenant_id * 16 + 14) STORED,
    ADD COLUMN k15 bigint GENERATED ALWAYS AS (tenant_id * 16 + 15) STORED;

CREATE INDEX entity_hot_numbers_n0 ON entity_hot_numbers (k0, n0) WHERE n0 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n1 ON entity_hot_numbers (k1, n1) WHERE n1 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n2 ON entity_hot_numbers (k2, n2) WHERE n2 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n3 ON entity_hot_numbers (k3, n3) WHERE n3 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n4 ON entity_hot_numbers (k4, n4) WHERE n4 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n5 ON entity_hot_numbers (k5, n5) WHERE n5 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n6 ON entity_hot_numbers (k6, n6) WHERE n6 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n7 ON entity_hot_numbers (k7, n7) WHERE n7 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n8 ON entity_hot_numbers (k8, n8) WHERE n8 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n9 ON entity_hot_numbers (k9, n9) WHERE n9 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n10 ON entity_hot_numbers (k10, n10) WHERE n10 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n11 ON entity_hot_numbers (k11, n11) WHERE n11 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n12 ON entity_hot_numbers (k12, n12) WHERE n12 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n13 ON entity_hot_numbers (k13, n13) WHERE n13 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n14 ON entity_hot_numbers (k14, n14) WHERE n14 IS NOT NULL;
CREATE INDEX entity_hot_numbers_n15 ON entity_hot_numbers (k15, n15) WHERE n15 IS NOT NULL;

-- The keys follow tenant_id: without this the planner multiplies their selectivities.
CREATE STATISTICS entity_hot_numbers_slots_0_6 (dependencies) ON tenant_id, k0, k1, k2, k3, k4, k5, k6 FROM entity_hot_numbers;
CREATE STATISTICS entity_hot_numbers_slots_7_13 (dependencies) ON tenant_id, k7, k8, k9, k10, k11, k12, k13 FROM entity_hot_numbers;
CREATE STATISTICS entity_hot_numbers_slots_14_15 (dependencies) ON tenant_id, k14, k15 FROM entity_hot_numbers;
ANALYZE entity_hot_numbers;
