#!/usr/bin/env bash
# Issue 22, cold storage of sparse data, read through the API: the 2M synthetic set
# (bench/flush-breakdown-setup.sql) with its two months before the current one packed
# (bench/sparse-packs.sh), served by `tessera serve`; each round measures five reads of those
# months packed, unpacks both months (`tessera archive unpack`), measures them on rows, packs
# them again. Median of 15 timed requests (after 3 untimed), one client; the bodies must be the
# same packed and on rows. Prints "phase read seconds md5" lines, sorted.
#   bash bench/sparse-packs-http.sh DIR PORT ROUNDS "$SUPERUSER_URL" [tessera binary]
set -euo pipefail
dir=$1 port=$2 rounds=$3 url=$4
tessera=${5:-.build/release/tessera}
base=http://127.0.0.1:$port
q() { psql "$url" -XAtc "$1"; }
m1=$(q "SELECT to_char(date_trunc('month', now(), 'UTC') - interval '2 months', 'YYYY-MM')")
m2=$(q "SELECT to_char(date_trunc('month', now(), 'UTC') - interval '1 month', 'YYYY-MM')")
m3=$(q "SELECT to_char(date_trunc('month', now(), 'UTC'), 'YYYY-MM')")
last_day=$(q "SELECT to_char(date_trunc('month', now(), 'UTC') - interval '1 day', 'YYYY-MM-DD')")
key0=$("$tessera" key create --dir "$dir" --tenant fbd-0 --name "sparse-$RANDOM" --scope read | awk '/^api_key:/ {print $2}')
key7=$("$tessera" key create --dir "$dir" --tenant fbd-7 --name "sparse-$RANDOM" --scope read | awk '/^api_key:/ {print $2}')
# The small tenant's a12 series with the most points in m1 (as bench/sparse-packs.sql picks it).
e7=$(q "SELECT e.external_key FROM fbd_tenants t JOIN entities e ON e.tenant_id = t.tenant_id
         JOIN LATERAL (SELECT count(*) AS n FROM (SELECT ts FROM entity_values_ts v WHERE v.tenant_id = t.tenant_id AND v.entity_id = e.entity_id
                        AND v.attribute_id = t.attrs[13] AND v.ts >= '$m1-01' AND v.ts < '$m2-01'
                       UNION ALL SELECT ts FROM packed_values(t.tenant_id, ARRAY[e.entity_id], t.attrs[13], '$m1-01', '$m2-01')) x) c ON true
        WHERE t.idx = 7 ORDER BY c.n DESC, e.entity_id LIMIT 1")
gets=(
  "sparse-series-month|$key7|$base/v1/entities/$e7/series/a12?from=$m1-01T00:00:00Z&to=$m2-01T00:00:00Z&consistency=strong"
  "sparse-last-before|$key7|$base/v1/entities/$e7/series/a12?to=$m2-01T00:00:00Z&order=desc&limit=1&consistency=strong"
  "minute-series-day|$key0|$base/v1/entities/dev-0/series/a0?from=${last_day}T00:00:00Z&to=$m3-01T00:00:00Z&limit=10000&consistency=strong"
  "lookup-all-attributes|$key7|$base/v1/entities/$e7?consistency=strong"
)
body="{\"attribute\": \"a12\", \"from\": \"$m1-01T00:00:00Z\", \"to\": \"$m2-01T00:00:00Z\", \"bucket\": \"1d\", \"fn\": [\"avg\", \"count\"], \"group_by\": \"entity\"}"
median() { sort -n | sed -n 8p; }
measure() { # phase
  for entry in "${gets[@]}"; do
    IFS='|' read -r name key get <<<"$entry"
    for _ in 1 2 3; do curl -s -o /dev/null "$get" -H "Authorization: Bearer $key"; done
    local sum
    sum=$(curl -s "$get" -H "Authorization: Bearer $key" | sed -E 's/"(lag_ms|served_at|age_ms)":[^,}]*//g' | md5sum | cut -c1-8)
    echo "$1 $name $(for _ in $(seq 15); do curl -s -o /dev/null -w '%{time_total}\n' "$get" -H "Authorization: Bearer $key"; done | median) $sum"
  done
  local agg=$base/v1/query/aggregate?consistency=strong
  for _ in 1 2 3; do curl -s -o /dev/null -X POST "$agg" -H "Authorization: Bearer $key7" -H 'Content-Type: application/json' -d "$body"; done
  local sum
  sum=$(curl -s -X POST "$agg" -H "Authorization: Bearer $key7" -H 'Content-Type: application/json' -d "$body" | sed -E 's/"(lag_ms|served_at|age_ms)":[^,}]*//g' | md5sum | cut -c1-8)
  echo "$1 daily-mean-by-entity-from-points $(for _ in $(seq 15); do curl -s -o /dev/null -w '%{time_total}\n' -X POST "$agg" -H "Authorization: Bearer $key7" -H 'Content-Type: application/json' -d "$body"; done | median) $sum"
}
"$tessera" serve --dir "$dir" --port "$port" >"$dir/sparse-http.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf -o /dev/null "$base/healthz" && break; sleep 1; done
for _ in $(seq "$rounds"); do
  measure packed
  "$tessera" archive unpack --dir "$dir" "$m1" >/dev/null
  "$tessera" archive unpack --dir "$dir" "$m2" >/dev/null
  measure rows
  "$tessera" archive pack --dir "$dir" "$m1" "$m2" >/dev/null
done | sort -k2,2 -k1,1
