# RDS Proxy in front of the primary: the seed's connection pooling (many server processes'
# pools onto a bounded number of PostgreSQL backends) and a failover that clients see as a
# few broken connections rather than a DNS change. Tessera runs behind it with
# TESSERA_DB_POOLING=transaction (README: Operating Tessera, pgbouncer): nothing is kept on a
# session, so no session is pinned.

resource "aws_db_proxy" "this" {
  name                   = var.name
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.proxy.arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [var.security_group_id]
  # Clients must speak TLS to the proxy; the proxy speaks TLS to the database (rds.force_ssl).
  require_tls         = true
  idle_client_timeout = 1800
  debug_logging       = false

  auth {
    description               = "tessera_app, the server's role"
    auth_scheme               = "SECRETS"
    secret_arn                = var.app_secret_arn
    iam_auth                  = "DISABLED"
    client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
  }
}

resource "aws_db_proxy_default_target_group" "this" {
  db_proxy_name = aws_db_proxy.this.name

  connection_pool_config {
    max_connections_percent      = var.max_connections_percent
    max_idle_connections_percent = 50
    connection_borrow_timeout    = 30
    # Tessera's SETs are transaction-local (SET LOCAL, set_config(..., true)): they end with
    # the transaction, so they must not pin a client to a backend.
    session_pinning_filters = ["EXCLUDE_VARIABLE_SETS"]
  }
}

resource "aws_db_proxy_target" "primary" {
  db_proxy_name          = aws_db_proxy.this.name
  target_group_name      = aws_db_proxy_default_target_group.this.name
  db_instance_identifier = var.primary_identifier
}
