# dev: the whole shape at the smallest sizes, single-AZ, torn down freely.
# infra/README.md explains each variable and prices this environment.
environment        = "dev"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
vpc_cidr           = "10.20.0.0/16"
nat_gateway_count  = 1

deletion_protection = false

db_instance_class                   = "db.t4g.medium"
db_multi_az                         = false
db_allocated_storage_gb             = 50
db_max_allocated_storage_gb         = 200
db_backup_retention_days            = 7
performance_insights_retention_days = 7
replicas = {
  "replica-1" = { instance_class = "db.t4g.medium", role = "read" }
}

vault_instance_class = "db.t4g.micro"
vault_multi_az       = false

cache_node_type  = "cache.t4g.small"
cache_node_count = 1
cache_multi_az   = false

app_task_cpu      = 512
app_task_memory   = 1024
app_desired_count = 1
app_min_count     = 1
app_max_count     = 2
