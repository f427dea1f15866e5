# RDS PostgreSQL 15: the primary (Multi-AZ where var.multi_az), its read replicas
# (replicas.tf), the parameter group Tessera needs (parameters.tf), enhanced monitoring
# (monitoring.tf) and the key vault of crypto-shredding (vault.tf).

locals {
  # Enhanced monitoring every 60 s, the seed's interval: the OS's view (per-process CPU,
  # memory, disk queue) that the hypervisor's CloudWatch metrics do not show.
  monitoring_interval = 60
  # The CA RDS signs the instances' certificates with; the image carries its bundle.
  ca_cert_identifier = "rds-ca-rsa2048-g1"
  log_exports        = ["postgresql", "upgrade"]
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Tessera's data subnets"
  subnet_ids  = var.subnet_ids
}

resource "aws_db_instance" "primary" {
  #checkov:skip=CKV_AWS_157:Dev runs the primary single-AZ to halve its price; staging and prod set db_multi_az (asserted by infra/checks/test_terraform.py).
  #checkov:skip=CKV_AWS_293:Dev sets deletion_protection false so that terraform destroy can tear it down; staging and prod set it (asserted by infra/checks/test_terraform.py).
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.database_name
  username       = var.master_username
  password       = var.master_password
  port           = 5432

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.tessera.name
  ca_cert_identifier     = local.ca_cert_identifier
  # Lets an operator log in with an IAM token instead of a password; Tessera uses passwords.
  iam_database_authentication_enabled = true

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  # Daily snapshots plus transaction logs every 5 minutes: point-in-time restore to any
  # second of the window (README: Backups, On RDS).
  backup_retention_period   = var.backup_retention_days
  backup_window             = "03:00-03:45"
  maintenance_window        = "sun:04:15-sun:05:15"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = "${var.name}-final"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = local.monitoring_interval
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = local.log_exports

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  # Parameter and class changes wait for the maintenance window unless an operator applies them.
  apply_immediately = false

  depends_on = [aws_cloudwatch_log_group.postgresql]
}
