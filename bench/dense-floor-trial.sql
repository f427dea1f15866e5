-- One trial of bench/dense-floor.sql: empty tables, a CHECKPOINT, then each step of the floor.
TRUNCATE entity_lines_ts, lines_ingest, lines_latest, lines_hourly_entity, lines_hourly;
CHECKPOINT;
SELECT pg_temp.floor_run(:trial, 'stage', :'stage', :vals);
SELECT pg_temp.floor_run(:trial, 'move', :'move', :vals);
SELECT pg_temp.floor_run(:trial, 'projection', :'projection', :vals);
SELECT pg_temp.floor_run(:trial, 'rollups, a row a line', :'rollups', :vals);
SELECT pg_temp.floor_run(:trial, 'rollups merged by hour', :'merged', :vals);
SELECT pg_temp.floor_run(:trial, 'delete', :'delete', :vals);
