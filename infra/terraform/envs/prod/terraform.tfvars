# prod: the seed's shape. A Multi-AZ primary with two read replicas and an analytics replica,
# Performance Insights kept 731 days, Redis over three zones, one NAT gateway per zone.
environment        = "prod"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
vpc_cidr           = "10.40.0.0/16"
nat_gateway_count  = 3

deletion_protection = true

db_instance_class                   = "db.r6g.2xlarge"
db_multi_az                         = true
db_allocated_storage_gb             = 2000
db_max_allocated_storage_gb         = 16000
db_backup_retention_days            = 35
performance_insights_retention_days = 731
replicas = {
  "replica-1" = { instance_class = "db.r6g.2xlarge", role = "read" }
  "replica-2" = { instance_class = "db.r6g.2xlarge", role = "read" }
  "analytics" = { instance_class = "db.r6g.2xlarge", role = "analytics" }
}

vault_instance_class = "db.t4g.small"
vault_multi_az       = true

cache_node_type  = "cache.r7g.large"
cache_node_count = 3
cache_multi_az   = true

app_task_cpu      = 2048
app_task_memory   = 4096
app_desired_count = 3
app_min_count     = 3
app_max_count     = 12
