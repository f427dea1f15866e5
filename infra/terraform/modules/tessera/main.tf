# One environment of Tessera on AWS: the network, the database (primary, replicas, key vault),
# RDS Proxy, the Redis cache, the seed's alarms and the app on ECS Fargate, wired together.
# The secrets that join them are in secrets.tf, the environment's KMS key in kms.tf.

locals {
  name          = "tessera-${var.environment}"
  database_name = "tessera"
}

module "network" {
  source             = "../network"
  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  nat_gateway_count  = var.nat_gateway_count
  ingress_cidrs      = var.ingress_cidrs
  kms_key_arn        = aws_kms_key.this.arn
  log_retention_days = var.log_retention_days
}

module "database" {
  source                              = "../database"
  name                                = local.name
  engine_version                      = var.db_engine_version
  instance_class                      = var.db_instance_class
  multi_az                            = var.db_multi_az
  allocated_storage_gb                = var.db_allocated_storage_gb
  max_allocated_storage_gb            = var.db_max_allocated_storage_gb
  backup_retention_days               = var.db_backup_retention_days
  deletion_protection                 = var.deletion_protection
  performance_insights_retention_days = var.performance_insights_retention_days
  replicas                            = var.replicas
  database_name                       = local.database_name
  master_username                     = local.master_username
  master_password                     = random_password.master.result
  vault_instance_class                = var.vault_instance_class
  vault_multi_az                      = var.vault_multi_az
  vault_master_password               = random_password.vault.result
  subnet_ids                          = module.network.data_subnet_ids
  availability_zones                  = var.availability_zones
  security_group_id                   = module.network.security_group_ids["db"]
  kms_key_arn                         = aws_kms_key.this.arn
  log_retention_days                  = var.log_retention_days
}

module "proxy" {
  source             = "../proxy"
  name               = local.name
  primary_identifier = module.database.primary_identifier
  app_secret_arn     = aws_secretsmanager_secret.this["app"].arn
  kms_key_arn        = aws_kms_key.this.arn
  subnet_ids         = module.network.data_subnet_ids
  security_group_id  = module.network.security_group_ids["proxy"]
}

module "cache" {
  source             = "../cache"
  name               = local.name
  node_type          = var.cache_node_type
  node_count         = var.cache_node_count
  multi_az           = var.cache_multi_az
  auth_token         = random_password.redis.result
  availability_zones = var.availability_zones
  subnet_ids         = module.network.data_subnet_ids
  security_group_id  = module.network.security_group_ids["redis"]
  kms_key_arn        = aws_kms_key.this.arn
  log_retention_days = var.log_retention_days
}

module "alarms" {
  source              = "../alarms"
  name                = local.name
  primary_identifier  = module.database.primary_identifier
  replica_identifiers = module.database.replica_identifiers
  cache_node_ids      = module.cache.member_cluster_ids
  alarm_emails        = var.alarm_emails
  kms_key_arn         = aws_kms_key.this.arn
}

module "app" {
  source                = "../app"
  name                  = local.name
  image_tag             = var.image_tag
  task_cpu              = var.app_task_cpu
  task_memory           = var.app_task_memory
  desired_count         = var.app_desired_count
  min_count             = var.app_min_count
  max_count             = var.app_max_count
  certificate_arn       = var.certificate_arn
  internal              = var.alb_internal
  deletion_protection   = var.deletion_protection
  primary_address       = module.database.primary_address
  database_name         = local.database_name
  # Through the versions, so that every secret has its value before a task reads it.
  secret_arns           = { for role, version in aws_secretsmanager_secret_version.this : role => version.arn }
  vpc_id                = module.network.vpc_id
  public_subnet_ids     = module.network.public_subnet_ids
  app_subnet_ids        = module.network.app_subnet_ids
  alb_security_group_id = module.network.security_group_ids["alb"]
  app_security_group_id = module.network.security_group_ids["app"]
  kms_key_arn           = aws_kms_key.this.arn
  log_retention_days    = var.log_retention_days
}
