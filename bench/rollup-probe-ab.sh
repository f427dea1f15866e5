#!/usr/bin/env bash
# Issue 22: the move of a flush with the rollups' probe (migration 0028) against the move whose
# replaced points are told by entity_values_ts's trigger (0029), side by side in one session on
# the same staged rows, alternating, each move rolled back. Needs a cluster migrated to 0029 or
# later (public.move_staged() is the new move; the old one, as of db96259 in this repository's
# history, is created as pg_temp.move_staged_probe).
#
#   bash bench/rollup-probe-ab.sh "$SUPERUSER_URL" TRIALS STAGE.sql [-v name=value ...]
#
# STAGE.sql stages the rows to move into entity_values_ingest with batch ids >= 900000 (see
# bench/rollup-probe-stage-dense.sql and bench/rollup-probe-stage-sparse.sql); they are deleted at
# the end. Prints one line a move, "AB|variant|trial|ms|rows", then the medians.
set -euo pipefail
url=$1 trials=$2 stage=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
    echo '\set ON_ERROR_STOP on'
    echo 'SET synchronous_commit = off;'
    git -C "$here" show db96259:Sources/TesseraStore/Schema/Functions/move_staged.sql |
        sed -n '/^CREATE OR REPLACE FUNCTION/,$p' | sed 's/FUNCTION public.move_staged(/FUNCTION pg_temp.move_staged_probe(/'
    cat "$stage"
    echo 'CHECKPOINT;'
    for i in $(seq 1 "$trials"); do
        if (( i % 2 )); then order="probe table"; else order="table probe"; fi
        for v in $order; do
            fn=public.move_staged; [[ $v == probe ]] && fn=pg_temp.move_staged_probe
            echo "BEGIN;"
            echo "SELECT clock_timestamp() AS t0 \\gset"
            echo "SELECT moved_rows AS rows FROM $fn(NULL, NULL) \\gset"
            echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 1) AS ms \\gset"
            echo "ROLLBACK;"
            echo "\\echo AB|$v|$i|:ms|:rows"
        done
    done
    echo 'DELETE FROM entity_values_ingest WHERE batch_id >= 900000;'
} | psql "$url" -X -q "$@" 2>&1 | tee "$out"
for v in probe table; do
    times=$(awk -F'|' -v v="$v" '$1 == "AB" && $2 == v { print $4 }' "$out" | sort -n)
    n=$(printf '%s\n' "$times" | grep -c .)
    (( n > 0 )) || continue
    if (( n % 2 )); then median=$(printf '%s\n' "$times" | sed -n "$(( (n + 1) / 2 ))p")
    else median=$(printf '%s\n' "$times" | sed -n "$(( n / 2 )),$(( n / 2 + 1 ))p" | awk '{ s += $1 } END { printf "%.1f", s / 2 }'); fi
    echo "median|$v|$median ms|$n moves|$(echo $times)"
done
