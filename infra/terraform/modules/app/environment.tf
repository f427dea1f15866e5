# What `tessera serve` reads (README: Configuration; Sources/tessera/TesseraEnvironment.swift),
# as it runs here. Plain settings are environment variables; everything holding a password,
# a token or a key comes from Secrets Manager at task start (ECS `secrets`), never from the
# task definition.

locals {
  container_port = 8080

  serve_environment = {
    TESSERA_HOST = "0.0.0.0" # the container's interface; the security group keeps it to the load balancer
    TESSERA_PORT = tostring(local.container_port)
    TESSERA_DIR  = "/var/lib/tessera" # an empty scratch volume: with every value below given, nothing is written there
    # TESSERA_DATABASE_URL is RDS Proxy, a transaction pooler: nothing kept on a session, and
    # entity lookups as unnamed statements (the proxy keeps no prepared statement for a client).
    TESSERA_DB_POOLING             = "transaction"
    TESSERA_DB_PREPARED_STATEMENTS = "off"
    TESSERA_DB_POOL_SIZE           = tostring(var.db_pool_size)
    TESSERA_READ_POOL_SIZE         = tostring(var.read_pool_size)
    TESSERA_MAX_REPLICA_LAG_MS     = "3000"
    TESSERA_LOG_FORMAT             = "json"
    # Longer than the load balancer's 60 s idle timeout, so the balancer closes idle
    # connections first and never sends a request on one the server is closing.
    TESSERA_HTTP_IDLE_TIMEOUT_S = "75"
  }

  # name => "secret ARN:JSON key::" (ECS takes one key of a JSON secret).
  serve_secrets = {
    TESSERA_DATABASE_URL     = "${var.secret_arns["app"]}:database_url::"  # tessera_app through RDS Proxy, TLS verified
    TESSERA_REPLICA_URLS     = "${var.secret_arns["app"]}:replica_urls::"  # the read replicas, direct, comma-separated
    TESSERA_ANALYTICS_URL    = "${var.secret_arns["app"]}:analytics_url::" # the analytics replica, or empty (none)
    TESSERA_REDIS_URL        = "${var.secret_arns["cache"]}:url::"         # rediss://:token@primary:6379/0
    TESSERA_ADMIN_TOKEN      = "${var.secret_arns["server"]}:admin_token::"
    TESSERA_MASTER_KEY       = "${var.secret_arns["server"]}:master_key::" # crypto-shredding's master key
    TESSERA_KEY_DATABASE_URL = "${var.secret_arns["vault"]}:database_url::"
  }

  # `tessera migrate` connects as TESSERA_DATABASE_URL's role: here the master user, a
  # member of tessera_owner, straight to the primary (an advisory lock through a pooler
  # would pin; README: migrations go to the primary directly).
  migrate_environment = {
    TESSERA_DIR        = "/var/lib/tessera"
    TESSERA_LOG_FORMAT = "json"
  }
  migrate_secrets = {
    TESSERA_DATABASE_URL = "${var.secret_arns["master"]}:database_url::"
  }

  # The bootstrap task: psql as the master user runs bootstrap.sql once (roles, extensions,
  # pg_cron's job). libpq's own variables.
  bootstrap_environment = {
    PGHOST        = var.primary_address
    PGPORT        = "5432"
    PGDATABASE    = var.database_name
    PGSSLMODE     = "require" # the postgres image has no RDS CA bundle; the traffic stays in the VPC
    BOOTSTRAP_SQL = file("${path.module}/bootstrap.sql")
  }
  bootstrap_secrets = {
    PGUSER       = "${var.secret_arns["master"]}:username::"
    PGPASSWORD   = "${var.secret_arns["master"]}:password::"
    APP_PASSWORD = "${var.secret_arns["app"]}:password::"
  }
}
