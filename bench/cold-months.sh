#!/usr/bin/env bash
# Issue 22, lever 6: cold months packed in the database, against InfluxDB on the same values.
#   bash bench/cold-months.sh air-quality "$SUPERUSER_URL" ../shared/data/beijing-air-quality [work-folder]
#     loads the air-quality readings (6 stations, hourly, 2013-2017) as EAV rows into a migrated
#     Tessera database, packs every month into one row per (tenant, entity, attribute, month) of
#     arrays in side tables, several encodings side by side, and times the reads of a cold month
#     on the rows and on the packings (bench/cold-months.sql);
#   bash bench/cold-months.sh synthetic "$SUPERUSER_URL" [work-folder]
#     the same on the 2M synthetic dataset (bench/flush-breakdown-setup.sql loaded first: the
#     sparse case), bench/cold-months-synthetic.sql.
# Then loads the same values into InfluxDB (when `influxd` is installed), lets it compact every
# shard fully, and measures its folders. Prints "COLD|..." lines (BENCHMARKS.md, "Cold months
# packed in the database").
set -euo pipefail
dataset=$1
url=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ "$dataset" = air-quality ]; then
  data=$3
  work=${4:-/tmp/tessera-cold-months}
else
  work=${3:-/tmp/tessera-cold-months}
fi
mkdir -p "$work"
chmod 777 "$work"  # the synthetic line protocol is written by the server's COPY

if [ "$dataset" = air-quality ]; then
  psql "$url" -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning; DROP TABLE IF EXISTS cold_aq_raw; CREATE UNLOGGED TABLE cold_aq_raw (no int, year int, month int, day int, hour int, pm25 float8, pm10 float8, so2 float8, no2 float8, co float8, o3 float8, temp float8, pres float8, dewp float8, rain float8, wd text, wspm float8, station text)"
  for f in "$data"/PRSA_Data_*.csv; do
    tail -n +2 "$f" | psql "$url" -X -q -v ON_ERROR_STOP=1 -c "\copy cold_aq_raw FROM STDIN WITH (FORMAT csv, NULL 'NA')"
  done
  psql "$url" -X -q -v ON_ERROR_STOP=1 -f "$here/cold-months.sql" 2>&1 | grep -E 'COLD\||ERROR' | sed 's/.*NOTICE:  //'
else
  rm -f "$work/synthetic.lp"
  psql "$url" -X -q -v ON_ERROR_STOP=1 -v lp="$work/synthetic.lp" -f "$here/cold-months-synthetic.sql" 2>&1 | grep -E 'COLD\||ERROR' | sed 's/.*NOTICE:  //'
fi

command -v influxd >/dev/null || { echo "COLD|influxdb|not installed"; exit 0; }
# InfluxDB 1.x with its defaults (autogen, 7-day shards) but a shard counts as cold for a full
# compaction after 10 s without writes instead of 4 h, so that every shard is compacted fully.
influx="$work/influxdb"
rm -rf "$influx" && mkdir -p "$influx"
port=$((20000 + RANDOM % 20000))
cat >"$influx/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$((port + 1))"
[meta]
  dir = "$influx/meta"
[data]
  dir = "$influx/data"
  wal-dir = "$influx/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "5s"
  compact-full-write-cold-duration = "10s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[logging]
  level = "warn"
EOF
influxd -config "$influx/influxdb.conf" >"$influx/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.2; done
curl -fs -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE aq" >/dev/null
if [ "$dataset" = air-quality ]; then
precision=s
# The same values as the EAV rows: one measurement, the station a tag, the 12 fields, NA left out.
python3 - "$data" "$work/aq.lp" <<'EOF'
import csv, datetime, glob, sys, zoneinfo
tz = zoneinfo.ZoneInfo("Asia/Shanghai")
fields = ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "wd", "WSPM"]
names = ["pm25", "pm10", "so2", "no2", "co", "o3", "temp", "pres", "dewp", "rain", "wd", "wspm"]
values = 0
with open(sys.argv[2], "w") as out:
    for path in sorted(glob.glob(sys.argv[1] + "/PRSA_Data_*.csv")):
        for row in csv.DictReader(open(path)):
            parts = []
            for field, name in zip(fields, names):
                v = row[field]
                if v == "NA":
                    continue
                parts.append(f'{name}="{v}"' if name == "wd" else f"{name}={float(v)!r}")
            if not parts:
                continue
            values += len(parts)
            t = datetime.datetime(int(row["year"]), int(row["month"]), int(row["day"]), int(row["hour"]), tzinfo=tz)
            out.write(f"aq,station={row['station']} {','.join(parts)} {int(t.timestamp())}\n")
print(values)
EOF
else
  precision=u
  mv "$work/synthetic.lp" "$work/aq.lp"
fi
split -l 5000 "$work/aq.lp" "$work/aq.lp."
for part in "$work"/aq.lp.*; do
  curl -fs -XPOST "http://127.0.0.1:$port/write?db=aq&precision=$precision" --data-binary "@$part" >/dev/null
done
rm -f "$work"/aq.lp.* "$work/aq.lp"
values=$(curl -fs -G "http://127.0.0.1:$port/query" --data-urlencode "db=aq" --data-urlencode "q=SELECT count(*) FROM /.*/" |
  python3 -c "import json,sys; print(sum(sum(v for v in s['values'][0][1:] if v) for s in json.load(sys.stdin)['results'][0]['series']))")
# Wait until the WAL is empty and the TSM files stop changing (every shard compacted fully).
last=""; same=0
for _ in $(seq 120); do
  sleep 5
  now=$(du -sb "$influx/data" "$influx/wal" | awk '{s = s $1 " "} END {print s}')
  if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
  last=$now
  [ $same -ge 3 ] && break
done
data_bytes=$(du -sb "$influx/data" | cut -f1)
wal_bytes=$(du -sb "$influx/wal" | cut -f1)
shards=$(find "$influx/data/aq/autogen" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "COLD|$dataset, influxdb compacted|data $data_bytes B, wal $wal_bytes B, $shards shards|$values values|$(python3 -c "print(round(($data_bytes + $wal_bytes) / $values, 2))") bytes a value"
