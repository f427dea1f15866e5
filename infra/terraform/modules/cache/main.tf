# ElastiCache Redis 7 for the read cache: a replication group over the zones, TLS in transit
# (TESSERA_REDIS_URL is rediss://), encrypted at rest, with an AUTH token, evicting the least
# recently used key when full (allkeys-lru, as the local cluster's Redis). No snapshots: the
# cache holds copies, and a cold cache costs misses, not data.

locals {
  # The members' ids are ElastiCache's: <group>-001, -002, ... (the alarms name each node).
  member_cluster_ids = [for i in range(var.node_count) : format("%s-%03d", var.name, i + 1)]
}

resource "aws_elasticache_subnet_group" "this" {
  name        = var.name
  description = "Tessera's data subnets"
  subnet_ids  = var.subnet_ids
}

resource "aws_elasticache_parameter_group" "this" {
  name        = "${var.name}-redis7"
  family      = "redis7"
  description = "Tessera read cache: evict the least recently used key when full"

  parameter {
    name  = "maxmemory-policy"
    value = "allkeys-lru"
  }
}

resource "aws_cloudwatch_log_group" "redis" {
  for_each          = toset(["slow-log", "engine-log"])
  name              = "/elasticache/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Dev runs one cache node (no replica to fail over to); staging and prod set cache_multi_az with automatic failover (asserted by infra/checks/test_terraform.py).
  replication_group_id = var.name
  description          = "Tessera read cache (${var.name})"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.node_count
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name
  subnet_group_name    = aws_elasticache_subnet_group.this.name
  security_group_ids   = [var.security_group_id]
  preferred_cache_cluster_azs = [for i in range(var.node_count) :
  var.availability_zones[i % length(var.availability_zones)]]

  multi_az_enabled           = var.multi_az
  automatic_failover_enabled = var.multi_az

  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  auth_token                 = var.auth_token
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 0
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis["slow-log"].name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis["engine-log"].name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "engine-log"
  }

  lifecycle {
    precondition {
      condition     = !var.multi_az || var.node_count >= 2
      error_message = "Multi-AZ with automatic failover needs at least 2 nodes."
    }
  }
}
