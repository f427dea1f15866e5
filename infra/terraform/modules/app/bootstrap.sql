-- Run once per database by the bootstrap task (infra/README.md), as the RDS master user,
-- before the first `tessera migrate`; safe to run again (it also resets tessera_app's
-- password to the one in Secrets Manager, after a rotation). What the local cluster does
-- for itself (README: Security, "On RDS"; Data lifecycle, "Partitions: pg_partman and pg_cron").
\set ON_ERROR_STOP on
\getenv app_password APP_PASSWORD
-- pgaudit logs role statements: keep the password out of the log.
SET pgaudit.log TO 'none';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_owner') THEN
        CREATE ROLE tessera_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_app') THEN
        CREATE ROLE tessera_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;
ALTER ROLE tessera_app PASSWORD :'app_password';
-- The master user migrates as a member of the owner; health_check() reads replicas' lag.
GRANT tessera_owner TO CURRENT_USER;
GRANT pg_monitor TO tessera_owner;

CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgaudit;

-- pg_partman: partition_maintenance() (migration 0023) is written for pg_partman 4.x. Install
-- it only when a 4.x version is offered; otherwise Tessera keeps the months ahead itself.
SELECT max(version) AS partman_version FROM pg_available_extension_versions
 WHERE name = 'pg_partman' AND version LIKE '4.%' \gset
\if :{?partman_version}
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman VERSION :'partman_version';
GRANT ALL ON SCHEMA partman TO tessera_owner;
GRANT ALL ON ALL TABLES IN SCHEMA partman TO tessera_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO tessera_owner;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO tessera_owner;
\else
\echo 'pg_partman 4.x is not offered here: partition_maintenance() makes the months ahead itself.'
\endif

-- pg_cron (preloaded by the parameter group, cron.database_name = this database): the hourly
-- job; it fails harmlessly until the first migration has made the function.
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule('tessera-partitions', '7 * * * *', 'SELECT public.partition_maintenance()');
