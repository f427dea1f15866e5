# The settings Tessera needs on any PostgreSQL it writes to, from the local cluster's
# PostgresSettings.swift and the README (each line says why). Static settings
# (pending-reboot) take effect at the next reboot: reboot once after the first apply.

resource "aws_db_parameter_group" "tessera" {
  name        = "${var.name}-postgres15"
  family      = "postgres15"
  description = "Tessera on PostgreSQL 15 (infra/README.md)"

  # pg_stat_statements: ops/monitoring.sql's slow_queries; pg_cron: runs
  # partition_maintenance() hourly in the database (migration 0023); pgaudit: every DDL
  # statement and role change in the log. pg_partman needs no preloading: pg_cron drives it.
  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements,pg_cron,pgaudit"
    apply_method = "pending-reboot"
  }

  # pg_cron's jobs live in Tessera's database.
  parameter {
    name         = "cron.database_name"
    value        = var.database_name
    apply_method = "pending-reboot"
  }

  # The flush's upserts write full-page images; pglz made the flush ~1.4x slower (BENCHMARKS.md).
  parameter {
    name         = "wal_compression"
    value        = "lz4"
    apply_method = "immediate"
  }

  # A read with no time bound locks every month's partition and its indexes:
  # TESSERA_BACKFILL_HORIZON_MONTHS (240) + 4 ahead, 4 relations each.
  parameter {
    name         = "max_locks_per_transaction"
    value        = "1024"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "pg_stat_statements.max"
    value        = "5000"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "pg_stat_statements.track"
    value        = "top"
    apply_method = "immediate"
  }

  # Schema changes, roles and grants, by whom (tenants' data access is Tessera's own audit_log).
  parameter {
    name         = "pgaudit.log"
    value        = "ddl,role"
    apply_method = "immediate"
  }

  parameter {
    name         = "pgaudit.log_catalog"
    value        = "0"
    apply_method = "immediate"
  }

  parameter {
    name         = "pgaudit.log_parameter"
    value        = "0"
    apply_method = "immediate"
  }

  # Every connection over TLS: a client without it is refused, not served in clear.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "immediate"
  }

  # Statements slower than 1 s, and DDL (also in pgaudit's lines), in the exported log.
  parameter {
    name         = "log_min_duration_statement"
    value        = "1000"
    apply_method = "immediate"
  }

  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "immediate"
  }

  # SSD storage.
  parameter {
    name         = "random_page_cost"
    value        = "1.1"
    apply_method = "immediate"
  }

  # JIT compile time exceeds the run time of Tessera's short queries.
  parameter {
    name         = "jit"
    value        = "0"
    apply_method = "immediate"
  }

  # The projection and the heartbeat churn: keep their bloat low.
  parameter {
    name         = "autovacuum_naptime"
    value        = "10"
    apply_method = "immediate"
  }

  parameter {
    name         = "autovacuum_vacuum_scale_factor"
    value        = "0.05"
    apply_method = "immediate"
  }

  parameter {
    name         = "autovacuum_analyze_scale_factor"
    value        = "0.02"
    apply_method = "immediate"
  }

  # Fewer checkpoints during sustained ingest (MB).
  parameter {
    name         = "max_wal_size"
    value        = "8192"
    apply_method = "immediate"
  }

  parameter {
    name         = "checkpoint_timeout"
    value        = "900"
    apply_method = "immediate"
  }

  lifecycle {
    create_before_destroy = true
  }
}
