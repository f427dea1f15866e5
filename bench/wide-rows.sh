#!/usr/bin/env bash
# Issue 22, lever 3: dense lines as one row. Loads the air-quality readings (6 stations,
# hourly, 2013-2017) into a migrated Tessera database twice, side by side: as EAV rows in
# entity_values_ts (one row a value, as today) and as one row a line in a wide table
# (the line's attribute ids and values as arrays), then times the reads that follow.
#   bash bench/wide-rows.sh "$SUPERUSER_URL" ../shared/data/beijing-air-quality [SCRIPT]
# Needs /tmp/costbd-copy/ writable by the postgres user. Prints "WIDE|..." lines
# (BENCHMARKS.md, "Dense lines as one row"). SCRIPT (default wide-rows.sql) names another
# script over the same readings: dense-floor.sql prints the floor of a wide flush, "FLOOR|..."
# lines (BENCHMARKS.md, "The floor of dense lines as one row").
set -euo pipefail
url=$1
data=$2
script=${3:-wide-rows.sql}
here=$(cd "$(dirname "$0")" && pwd)
psql "$url" -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS wide_aq_raw; CREATE UNLOGGED TABLE wide_aq_raw (no int, year int, month int, day int, hour int, pm25 float8, pm10 float8, so2 float8, no2 float8, co float8, o3 float8, temp float8, pres float8, dewp float8, rain float8, wd text, wspm float8, station text)"
for f in "$data"/PRSA_Data_*.csv; do
  tail -n +2 "$f" | psql "$url" -X -q -v ON_ERROR_STOP=1 -c "\copy wide_aq_raw FROM STDIN WITH (FORMAT csv, NULL 'NA')"
done
psql "$url" -X -q -v ON_ERROR_STOP=1 -f "$here/$script" 2>&1 | grep -E 'WIDE\||FLOOR\||ERROR' | sed 's/.*NOTICE:  //'
