# The one root module of the deployment. An environment is a var file and a state key:
#   envs/<env>/terraform.tfvars   its sizes (-var-file)
#   envs/<env>/backend.hcl        its state key (-backend-config)
# so dev, staging and prod run the same wiring and cannot drift apart (infra/README.md, Deploying).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "tessera"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

module "tessera" {
  source = "../modules/tessera"

  environment                         = var.environment
  availability_zones                  = var.availability_zones
  vpc_cidr                            = var.vpc_cidr
  nat_gateway_count                   = var.nat_gateway_count
  ingress_cidrs                       = var.ingress_cidrs
  alb_internal                        = var.alb_internal
  certificate_arn                     = var.certificate_arn
  deletion_protection                 = var.deletion_protection
  db_engine_version                   = var.db_engine_version
  db_instance_class                   = var.db_instance_class
  db_multi_az                         = var.db_multi_az
  db_allocated_storage_gb             = var.db_allocated_storage_gb
  db_max_allocated_storage_gb         = var.db_max_allocated_storage_gb
  db_backup_retention_days            = var.db_backup_retention_days
  performance_insights_retention_days = var.performance_insights_retention_days
  replicas                            = var.replicas
  vault_instance_class                = var.vault_instance_class
  vault_multi_az                      = var.vault_multi_az
  cache_node_type                     = var.cache_node_type
  cache_node_count                    = var.cache_node_count
  cache_multi_az                      = var.cache_multi_az
  app_task_cpu                        = var.app_task_cpu
  app_task_memory                     = var.app_task_memory
  app_desired_count                   = var.app_desired_count
  app_min_count                       = var.app_min_count
  app_max_count                       = var.app_max_count
  image_tag                           = var.image_tag
  alarm_emails                        = var.alarm_emails
  log_retention_days                  = var.log_retention_days
}
