#!/usr/bin/env bash
# Side by side, one client: the median of 15 timed requests (after 3 untimed) of each read
# below, for two builds of the server serving the same local cluster, alternating rounds.
#
#   bash bench/read-latency-ab.sh DIR PORT KEY ROUNDS BINARY_A BINARY_B
#
# DIR is a `tessera serve --dir` folder holding the air-quality readings of the stations
# Aotizhongxin and Dongsi (line protocol through /write, tenant of KEY); each round starts
# A's server, measures, stops it, then B's. Prints "label read seconds" lines, sorted.
set -euo pipefail
dir=$1 port=$2 key=$3 rounds=$4
shift 4
base=http://127.0.0.1:$port
auth="Authorization: Bearer $key"
station=$base/v1/entities/air_quality%2Cstation%3DDongsi
gets=(
  "series-7-days|$station/series/PM2.5?from=2016-06-08T00:00:00Z&to=2016-06-15T00:00:00Z&consistency=strong"
  "series-2-points|$station/series/PM2.5?from=2016-06-08T00:00:00Z&to=2016-06-08T02:00:00Z&consistency=strong"
  "series-month|$station/series/PM2.5?from=2016-06-01T00:00:00Z&to=2016-07-01T00:00:00Z&limit=1000&consistency=strong"
  "series-10000-points|$station/series/PM2.5?from=2014-01-01T00:00:00Z&to=2016-01-01T00:00:00Z&limit=10000&consistency=strong"
  "last-before|$station/series/PM2.5?to=2016-06-20T12:30:00Z&order=desc&limit=1&consistency=strong"
  "lookup|$station?consistency=strong"
)
posts=(
  'daily-mean-june-from-points|{"attribute": "PM2.5", "from": "2016-06-01T00:00:00Z", "to": "2016-07-01T00:00:00Z", "bucket": "1d", "fn": ["avg", "count"], "group_by": "entity"}'
  'daily-mean-2016-from-rollups|{"attribute": "PM2.5", "from": "2016-01-01T00:00:00Z", "to": "2017-01-01T00:00:00Z", "bucket": "1d", "fn": ["avg"], "group_by": "entity"}'
)
median() { sort -n | sed -n 8p; }
measure() { # label binary
  "$2" serve --dir "$dir" --port "$port" >"$dir/ab-$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 120); do curl -sf -o /dev/null "$base/healthz" && break; sleep 1; done
  for entry in "${gets[@]}"; do
    local name=${entry%%|*} url=${entry#*|}
    for _ in 1 2 3; do curl -s -o /dev/null "$url" -H "$auth"; done
    echo "$1 $name $(for _ in $(seq 15); do curl -s -o /dev/null -w '%{time_total}\n' "$url" -H "$auth"; done | median)"
  done
  for entry in "${posts[@]}"; do
    local name=${entry%%|*} body=${entry#*|} url="$base/v1/query/aggregate?consistency=strong"
    for _ in 1 2 3; do curl -s -o /dev/null -X POST "$url" -H "$auth" -H 'Content-Type: application/json' -d "$body"; done
    echo "$1 $name $(for _ in $(seq 15); do curl -s -o /dev/null -w '%{time_total}\n' -X POST "$url" -H "$auth" -H 'Content-Type: application/json' -d "$body"; done | median)"
  done
  kill "$pid"
  wait "$pid" || true
}
for _ in $(seq "$rounds"); do
  measure A "$1"
  measure B "$2"
done | sort -k2,2 -k1,1
