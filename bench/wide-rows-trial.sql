-- One trial of bench/wide-rows.sql: each layout's COPY right after a CHECKPOINT, rolled back.
CHECKPOINT;
BEGIN;
SELECT pg_temp.wide_run(:trial, 'load EAV (3 indexes)', :'eav', :lines, :vals);
ROLLBACK;
CHECKPOINT;
BEGIN;
SELECT pg_temp.wide_run(:trial, 'load wide (2 indexes)', :'wide', :lines, :vals);
ROLLBACK;
