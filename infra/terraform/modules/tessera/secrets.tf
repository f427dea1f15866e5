# The credentials, generated here and kept in Secrets Manager (encrypted with the
# environment's key), from where ECS injects them into the tasks. Each secret is JSON; its
# database URLs are complete, as `tessera` reads them:
#   app     tessera_app's username and password (RDS Proxy logs in with them), and the
#           server's URLs: the proxy (database_url), the read replicas (replica_urls,
#           comma-separated) and the analytics replica (analytics_url, empty without one);
#   master  the RDS master user (bootstrap.sql, `tessera migrate`, operators), straight to the primary;
#   cache   the Redis AUTH token and TESSERA_REDIS_URL;
#   server  TESSERA_ADMIN_TOKEN and TESSERA_MASTER_KEY (crypto-shredding);
#   vault   the key vault's URL (TESSERA_KEY_DATABASE_URL).
# They are also in Terraform's state: keep the state in an encrypted bucket only operators
# read (infra/README.md).

locals {
  master_username = "tessera_admin"
  app_username    = "tessera_app" # the role bootstrap.sql makes (README: Security)
  # The image's copy of the RDS CA bundle (Dockerfile): replicas and the vault are verified
  # against it; the proxy's certificate is from ACM, which the system's CAs trust.
  rds_ca_file = "/opt/tessera/rds-global-bundle.pem"
  direct_tls  = "sslmode=verify-full&sslrootcert=${local.rds_ca_file}"
  proxy_tls   = "sslmode=verify-full"

  replica_urls = { for key, address in module.database.replica_addresses :
  key => "postgres://${local.app_username}:${random_password.app.result}@${address}:5432/${local.database_name}?${local.direct_tls}" }

  secret_values = {
    app = {
      username      = local.app_username
      password      = random_password.app.result
      database_url  = "postgres://${local.app_username}:${random_password.app.result}@${module.proxy.endpoint}:5432/${local.database_name}?${local.proxy_tls}"
      replica_urls  = join(",", [for key in sort(keys(var.replicas)) : local.replica_urls[key] if var.replicas[key].role == "read"])
      analytics_url = join(",", [for key in sort(keys(var.replicas)) : local.replica_urls[key] if var.replicas[key].role == "analytics"])
    }
    master = {
      engine       = "postgres"
      host         = module.database.primary_address
      port         = 5432
      dbname       = local.database_name
      username     = local.master_username
      password     = random_password.master.result
      database_url = "postgres://${local.master_username}:${random_password.master.result}@${module.database.primary_address}:5432/${local.database_name}?${local.direct_tls}"
    }
    cache = {
      auth_token = random_password.redis.result
      url        = "rediss://:${random_password.redis.result}@${module.cache.primary_endpoint}:6379/0"
    }
    server = {
      admin_token = random_password.admin_token.result
      master_key  = random_bytes.master_key.base64
    }
    vault = {
      username     = "tessera_vault"
      password     = random_password.vault.result
      database_url = "postgres://tessera_vault:${random_password.vault.result}@${module.database.vault_address}:5432/tessera_keys?${local.direct_tls}"
    }
  }
}

# Letters and digits only: every one of them goes into a URL unescaped.
resource "random_password" "master" {
  length  = 40
  special = false
}

resource "random_password" "app" {
  length  = 40
  special = false
}

resource "random_password" "vault" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false
}

resource "random_password" "admin_token" {
  length  = 48
  special = false
}

# Crypto-shredding's master key: it wraps every entity's data key, and losing it loses
# every pii value for good. Terraform refuses to destroy it; copy it somewhere apart from
# the backups too (README: Crypto-shredding).
resource "random_bytes" "master_key" {
  length = 32

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Rotating these needs more than a new value: the role's password in PostgreSQL (bootstrap.sql), the URLs that embed it and a redeploy of the tasks. Rotate with terraform (apply -replace on the random_password, run the bootstrap task, redeploy), as infra/README.md says.
  for_each                = toset(["app", "master", "cache", "server", "vault"])
  name                    = "${local.name}/${each.key}"
  description             = "Tessera ${var.environment}: ${each.key} credentials (infra/README.md)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.deletion_protection ? 30 : 0
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each      = aws_secretsmanager_secret.this
  secret_id     = each.value.id
  secret_string = jsonencode(local.secret_values[each.key])
}
