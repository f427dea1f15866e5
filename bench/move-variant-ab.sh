#!/usr/bin/env bash
# Issue 22: the live move_staged() against a variant, side by side in one session on the same staged
# rows, alternating, each move rolled back.
#
#   bash bench/move-variant-ab.sh "$SUPERUSER_URL" TRIALS STAGE.sql VARIANT.sql
#
# VARIANT.sql creates pg_temp.move_staged_v(bigint, bigint, bigint[]) (a copy of
# Sources/TesseraStore/Schema/Functions/move_staged.sql, renamed and changed); STAGE.sql stages the rows
# under batch ids >= 900000 (bench/sparse-move-stage.sql, bench/dense-move-stage.sql), deleted at the
# end. Prints "AB|variant|trial|ms|rows|projected|projection checksum|number rows checksum|rollups
# checksum" a move (md5 of the rows the move wrote in each table),
# then the medians, and how many distinct checksums there were (1: both wrote the same rows).
set -euo pipefail
url=$1 trials=$2 stage=$3 variant=$4; shift 4
out=$(mktemp)
{
    echo '\set ON_ERROR_STOP on'
    echo 'SET synchronous_commit = off;'
    cat "$variant"
    cat "$stage"
    echo 'CHECKPOINT;'
    for i in $(seq 1 "$trials"); do
        if (( i % 2 )); then order="live variant"; else order="variant live"; fi
        for v in $order; do
            fn=public.move_staged; [[ $v == variant ]] && fn=pg_temp.move_staged_v
            echo "BEGIN;"
            echo "SELECT clock_timestamp() AS t0 \\gset"
            echo "SELECT moved_rows AS rows, projected_entities AS pe FROM $fn(NULL, NULL, NULL) \\gset"
            echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 1) AS ms \\gset"
            echo "SELECT md5(string_agg(tenant_id || ':' || entity_id || attrs::text || attr_ts::text, ',' ORDER BY tenant_id, entity_id)) AS sum FROM entity_jsonb WHERE xmin = pg_current_xact_id()::xid \\gset"
            echo "SELECT md5(string_agg(h::text, ',' ORDER BY tenant_id, entity_id)) AS hsum FROM entity_hot_numbers h WHERE xmin = pg_current_xact_id()::xid \\gset"
            echo "SELECT md5(string_agg(r::text, ',' ORDER BY tenant_id, attribute_id, hour)) AS rsum FROM entity_values_hourly r WHERE xmin = pg_current_xact_id()::xid \\gset"
            echo "ROLLBACK;"
            echo "\\echo AB|$v|$i|:ms|:rows|:pe|:sum|:hsum|:rsum"
        done
    done
    echo 'DELETE FROM entity_values_ingest WHERE batch_id >= 900000;'
} | psql "$url" -X -q "$@" 2>&1 > "$out"
grep '^AB' "$out"
for v in live variant; do
    times=$(awk -F'|' -v v="$v" '$1 == "AB" && $2 == v { print $4 }' "$out" | sort -n)
    n=$(printf '%s\n' "$times" | grep -c .)
    if (( n % 2 )); then median=$(printf '%s\n' "$times" | sed -n "$(( (n + 1) / 2 ))p")
    else median=$(printf '%s\n' "$times" | sed -n "$(( n / 2 )),$(( n / 2 + 1 ))p" | awk '{ s += $1 } END { printf "%.1f", s / 2 }'); fi
    echo "median|$v|$median ms|$n moves|$(echo $times)"
done
echo "distinct checksums: $(awk -F'|' '$1=="AB" {print $7 $8 $9}' "$out" | sort -u | wc -l)"
