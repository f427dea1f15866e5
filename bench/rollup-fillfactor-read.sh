#!/usr/bin/env bash
# Issue 22 (migration 0033): a year's daily mean of one attribute read from entity_values_hourly at
# fillfactor 100 and 50 (the table rewritten by VACUUM FULL before each block of 30 reads; 4 blocks
# each, alternating), on the tenant of bench/dense-move-setup.sql. Prints p50 / p90 and the pages.
#
#   bash bench/rollup-fillfactor-read.sh "$SUPERUSER_URL"
set -euo pipefail
url=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
  echo '\set ON_ERROR_STOP on'
  echo "SELECT r.tenant_id AS t, a.attribute_id AS a FROM tenants r JOIN attributes a USING (tenant_id) WHERE r.name='dense' AND a.name='f3' \\gset"
  for blk in 1 2 3 4; do
    if (( blk % 2 )); then order="100 50"; else order="50 100"; fi
    for v in $order; do
      echo "ALTER TABLE entity_values_hourly SET (fillfactor = $v); VACUUM FULL entity_values_hourly; VACUUM ANALYZE entity_values_hourly;"
      echo "SELECT relpages AS pages FROM pg_class WHERE relname = 'entity_values_hourly' \\gset"
      # warm
      echo "SELECT count(*) FROM entity_values_hourly WHERE tenant_id = :t AND attribute_id = :a AND hour >= '2015-01-01Z' AND hour < '2016-01-01Z' \\g /dev/null"
      for i in $(seq 1 30); do
        echo "SELECT clock_timestamp() AS t0 \\gset"
        echo "SELECT date_trunc('day', hour) AS d, sum(sum) / sum(count) FROM entity_values_hourly WHERE tenant_id = :t AND attribute_id = :a AND hour >= '2015-01-01Z' AND hour < '2016-01-01Z' GROUP BY 1 \\g /dev/null"
        echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 3) AS ms \\gset"
        echo "\\echo R|$v|:ms|:pages"
      done
    done
  done
  echo 'ALTER TABLE entity_values_hourly SET (fillfactor = 50); VACUUM FULL entity_values_hourly;'
} | psql "$url" -X -q 2>&1 > "$out"
for v in 100 50; do
  awk -F'|' -v v=$v '$1=="R" && $2==v {print $3}' "$out" | sort -n | awk -v v=$v '{a[NR]=$1} END {printf "ff %s: n=%d p50 %.3f p90 %.3f ms\n", v, NR, a[int(NR/2)], a[int(NR*0.9)]}'
  awk -F'|' -v v=$v '$1=="R" && $2==v {print "pages", $4}' "$out" | sort -u
done
