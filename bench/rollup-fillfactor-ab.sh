#!/usr/bin/env bash
# Issue 22 (migration 0033): the live move_staged() with entity_values_hourly at fillfactor 100 against
# 50, alternating; before each move the table is rewritten at that fillfactor (VACUUM FULL) and
# CHECKPOINTed, and each move is rolled back. Leaves the table at 50, as migration 0033 sets it.
#
#   bash bench/rollup-fillfactor-ab.sh "$SUPERUSER_URL" TRIALS STAGE.sql
set -euo pipefail
url=$1 trials=$2 stage=$3; shift 3
out=$(mktemp)
{
    echo '\set ON_ERROR_STOP on'
    echo 'SET synchronous_commit = off;'
    cat "$stage"
    for i in $(seq 1 "$trials"); do
        if (( i % 2 )); then order="100 50"; else order="50 100"; fi
        for v in $order; do
            echo "ALTER TABLE entity_values_hourly SET (fillfactor = $v);"
            echo "VACUUM FULL entity_values_hourly;"
            echo "CHECKPOINT;"
            echo "BEGIN;"
            echo "SELECT clock_timestamp() AS t0 \\gset"
            echo "SELECT moved_rows AS rows FROM public.move_staged(NULL, NULL, NULL) \\gset"
            echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 1) AS ms \\gset"
            echo "ROLLBACK;"
            echo "\\echo AB|$v|$i|:ms|:rows"
        done
    done
    echo 'ALTER TABLE entity_values_hourly SET (fillfactor = 50); VACUUM FULL entity_values_hourly;'
    echo 'DELETE FROM entity_values_ingest WHERE batch_id >= 900000;'
} | psql "$url" -X -q "$@" 2>&1 | tee "$out" | grep -v '^$'
for v in 100 50; do
    times=$(awk -F'|' -v v="$v" '$1 == "AB" && $2 == v { print $4 }' "$out" | sort -n)
    n=$(printf '%s\n' "$times" | grep -c .)
    if (( n % 2 )); then median=$(printf '%s\n' "$times" | sed -n "$(( (n + 1) / 2 ))p")
    else median=$(printf '%s\n' "$times" | sed -n "$(( n / 2 )),$(( n / 2 + 1 ))p" | awk '{ s += $1 } END { printf "%.1f", s / 2 }'); fi
    echo "median|ff $v|$median ms|$n moves|$(echo $times)"
done
