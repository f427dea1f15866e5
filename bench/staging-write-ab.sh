#!/bin/bash
# Alternates `tessera-bench ingest` between two release builds, old first, ROUNDS times each:
#   bash bench/staging-write-ab.sh OLD_TESSERA_BENCH NEW_TESSERA_BENCH [ROUNDS] [SECONDS]
# e.g. a worktree of the commit before a change (`git worktree add ../ab-old <commit>`, then
# `swift build -c release --product tessera-bench` there) against this checkout's build.
# Prints each run's summary lines; compare medians (BENCHMARKS.md, "Staging by one INSERT").
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} seconds=${4:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
for n in $(seq 1 "$rounds"); do
  for v in old new; do
    bin=$old; [ "$v" = new ] && bin=$new
    d=$(mktemp -d "/tmp/staging-ab-$v-$n.XXXXXX"); chmod 755 "$d"
    echo "=== $v $n $(date +%T)"
    TESSERA_BACKUPS=off "$bin" ingest --dir "$d" --seconds "$seconds" --clients 8 --warm --port 18300 2>&1 \
      | grep -E "acknowledged in|stored:|latency|answers|raw COPY|check:" || true
    "$(dirname "$bin")/tessera" cluster down --dir "$d" > /dev/null 2>&1 \
      || "$here/.build/debug/tessera" cluster down --dir "$d" > /dev/null 2>&1 || true
    rm -rf "$d"
  done
done
