# Streaming read replicas of the primary, one per key of var.replicas, spread over the zones.
# Their roles decide the URLs the app gets (TESSERA_REPLICA_URLS, TESSERA_ANALYTICS_URL) in
# the tessera module; each one gets its own replica-lag alarm (the alarms module).

locals {
  replica_keys = sort(keys(var.replicas))
}

resource "aws_db_instance" "replica" {
  #checkov:skip=CKV_AWS_293:Dev sets deletion_protection false so that terraform destroy can tear it down; staging and prod set it (asserted by infra/checks/test_terraform.py).
  #checkov:skip=CKV_AWS_133:A replica is rebuilt from the primary, whose automated backups give point-in-time restore; backups of a replica would double the backup storage for nothing.
  #checkov:skip=CKV_AWS_157:A lost replica costs read capacity, not data: the router sends its reads to the others and the primary, and RDS (or terraform apply) replaces it; a standby per replica would double its price.
  for_each            = var.replicas
  identifier          = "${var.name}-${each.key}"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = each.value.instance_class
  availability_zone   = var.availability_zones[index(local.replica_keys, each.key) % length(var.availability_zones)]

  multi_az               = false
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  # Hot-standby settings such as max_locks_per_transaction must be at least the primary's.
  parameter_group_name                = aws_db_parameter_group.tessera.name
  ca_cert_identifier                  = local.ca_cert_identifier
  iam_database_authentication_enabled = true

  storage_type          = "gp3"
  max_allocated_storage = var.max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  backup_retention_period = 0
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  skip_final_snapshot     = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = local.monitoring_interval
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = local.log_exports

  auto_minor_version_upgrade = true
  apply_immediately          = false

  depends_on = [aws_cloudwatch_log_group.postgresql]
}
