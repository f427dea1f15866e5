#!/bin/bash
# Alternates `tessera-bench ingest` with the flush in one session and in two (one build),
# one session first, ROUNDS times each:
#   bash bench/flush-sessions-ab.sh [TESSERA_BENCH] [ROUNDS] [SECONDS]
# Prints each run's summary lines; compare medians (BENCHMARKS.md, "Two flush sessions, over
# batches of one tenant").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/.build/release/tessera-bench} rounds=${2:-3} seconds=${3:-20}
for n in $(seq 1 "$rounds"); do
  for sessions in 1 2; do
    d=$(mktemp -d "/tmp/flush-sessions-$sessions-$n.XXXXXX"); chmod 755 "$d"
    echo "=== sessions $sessions, round $n $(date +%T)"
    TESSERA_BACKUPS=off "$bin" ingest --dir "$d" --seconds "$seconds" --clients 8 --warm --port 18300 \
      --flush-sessions "$sessions" 2>&1 \
      | grep -E "acknowledged in|stored:|latency|answers|raw COPY|check:" || true
    "$here/.build/debug/tessera" cluster down --dir "$d" > /dev/null 2>&1 || true
    rm -rf "$d"
  done
done
