# staging: production's topology (Multi-AZ database and cache, a replica behind the router)
# at smaller sizes, to rehearse deployments, migrations and failovers.
environment        = "staging"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
vpc_cidr           = "10.30.0.0/16"
nat_gateway_count  = 1

deletion_protection = true

db_instance_class                   = "db.r6g.large"
db_multi_az                         = true
db_allocated_storage_gb             = 200
db_max_allocated_storage_gb         = 1000
db_backup_retention_days            = 7
performance_insights_retention_days = 7
replicas = {
  "replica-1" = { instance_class = "db.r6g.large", role = "read" }
}

vault_instance_class = "db.t4g.small"
vault_multi_az       = false

cache_node_type  = "cache.t4g.medium"
cache_node_count = 2
cache_multi_az   = true

app_task_cpu      = 1024
app_task_memory   = 2048
app_desired_count = 2
app_min_count     = 2
app_max_count     = 4
