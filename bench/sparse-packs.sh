#!/usr/bin/env bash
# Issue 22, cold storage of sparse data: the 2M synthetic set (bench/flush-breakdown-setup.sql,
# loaded first into a migrated cluster of `tessera cluster up`), its two months before the current
# one measured as rows, packed with `tessera archive pack` (what an operator runs), measured again
# (bench/sparse-packs.sql: bytes a value, five reads whose rows must not change).
#   bash bench/sparse-packs.sh CLUSTER_DIR "$SUPERUSER_URL" [tessera binary]
set -euo pipefail
dir=$1
url=$2
tessera=${3:-.build/release/tessera}
here=$(cd "$(dirname "$0")" && pwd)
m1=$(psql "$url" -XAtc "SELECT to_char(date_trunc('month', now(), 'UTC') - interval '2 months', 'YYYY-MM')")
m2=$(psql "$url" -XAtc "SELECT to_char(date_trunc('month', now(), 'UTC') - interval '1 month', 'YYYY-MM')")
# Rows as they are after a load settles: each month's partition without dead tuples.
psql "$url" -X -q -c "VACUUM (FULL, ANALYZE) entity_values_ts" -c "VACUUM (FULL, ANALYZE) entity_values_packed"
psql "$url" -X -q -v phase=rows -f "$here/sparse-packs.sql" 2>&1 | grep -E 'COLD\||ERROR' | sed 's/.*NOTICE:  //' | tee /tmp/sparse-rows.txt
start=$(date +%s.%N)
"$tessera" archive pack --dir "$dir" "$m1" "$m2"
echo "COLD|sparse|archive pack $m1 $m2|$(echo "$(date +%s.%N) - $start" | bc) s"
psql "$url" -X -q -v phase=packed -f "$here/sparse-packs.sql" 2>&1 | grep -E 'COLD\||ERROR' | sed 's/.*NOTICE:  //' | tee /tmp/sparse-packed.txt
# The reads answered the same rows (their md5s) packed as on rows.
diff <(grep -o 'rows|md5 .*' /tmp/sparse-rows.txt) <(grep -o 'rows|md5 .*' /tmp/sparse-packed.txt) && echo "COLD|sparse|every read answered the same rows packed"
