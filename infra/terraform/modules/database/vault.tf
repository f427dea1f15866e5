# The key vault of crypto-shredding (TESSERA_KEY_DATABASE_URL; README: Security, Erasure):
# a PostgreSQL apart from the data, holding each entity's wrapped data key. Its backups must
# be short (an old backup still holds an erased key), hence 7 days at most, and it has an
# instance of its own so that the data's long backups never contain it.

resource "aws_db_parameter_group" "vault" {
  name        = "${var.name}-vault-postgres15"
  family      = "postgres15"
  description = "Tessera key vault: TLS only"

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "immediate"
  }

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

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "vault" {
  #checkov:skip=CKV_AWS_293:Dev sets deletion_protection false so that terraform destroy can tear it down; staging and prod set it (asserted by infra/checks/test_terraform.py).
  #checkov:skip=CKV_AWS_157:Dev and staging run the vault single-AZ to save cost; prod sets vault_multi_az (asserted by infra/checks/test_terraform.py).
  #checkov:skip=CKV_AWS_353:The vault is one small table read by primary key on a burstable instance; Performance Insights would show nothing worth its price there.
  #checkov:skip=CKV_AWS_354:Performance Insights is off on the vault (see CKV_AWS_353), so there is nothing to encrypt.
  identifier     = "${var.name}-vault"
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.vault_instance_class
  db_name        = "tessera_keys"
  username       = "tessera_vault"
  password       = var.vault_master_password
  port           = 5432

  multi_az                            = var.vault_multi_az
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [var.security_group_id]
  publicly_accessible                 = false
  parameter_group_name                = aws_db_parameter_group.vault.name
  ca_cert_identifier                  = local.ca_cert_identifier
  iam_database_authentication_enabled = true

  storage_type          = "gp3"
  allocated_storage     = 20
  max_allocated_storage = 200
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  backup_retention_period   = min(var.backup_retention_days, 7)
  backup_window             = "03:00-03:45"
  maintenance_window        = "sun:04:15-sun:05:15"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = "${var.name}-vault-final"

  performance_insights_enabled    = false
  monitoring_interval             = local.monitoring_interval
  monitoring_role_arn             = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports = local.log_exports

  auto_minor_version_upgrade = true
  apply_immediately          = false

  depends_on = [aws_cloudwatch_log_group.postgresql]
}
