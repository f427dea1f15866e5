# The seed's four CloudWatch alarms, to one encrypted SNS topic, matching
# ops/prometheus/alerts.yml's DatabaseCPUHigh, DatabaseFreeStorageLow, ReplicaLagHigh and
# RedisCPUHigh for operators who watch CloudWatch rather than (or besides) Prometheus:
#   RDS CPU above 80 % for 10 minutes, on the primary and on each replica;
#   RDS free storage under 10 GiB (10 x 1024^3 bytes), on the primary and on each replica;
#   replica lag above 3 s for 2 minutes, per replica (TESSERA_MAX_REPLICA_LAG_MS's 3000: past
#     it the replica gets no eventual read); a replica that stops reporting is treated as lagging;
#   Redis above 75 % for 10 minutes, per node, on EngineCPUUtilization: Redis runs commands
#     on one thread, and the host's CPUUtilization averages that thread with idle cores.

locals {
  db_instances = merge({ primary = var.primary_identifier }, var.replica_identifiers)
  actions      = [aws_sns_topic.alarms.arn]
  # 10 GiB, as the Prometheus rule (10 * 1024^3).
  free_storage_threshold_bytes = 10737418240
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  for_each            = local.db_instances
  alarm_name          = "${each.value}-cpu-high"
  alarm_description   = "RDS CPU over 80 % for 10 minutes: run `tessera ops report slow_queries long_transactions` before resizing."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = each.value }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  for_each            = local.db_instances
  alarm_name          = "${each.value}-free-storage-low"
  alarm_description   = "Under 10 GiB free: PostgreSQL stops when the volume fills. Raise max_allocated_storage or run `tessera ops report capacity_planning partition_sizes`."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = each.value }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = local.free_storage_threshold_bytes
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "replica_lag" {
  for_each            = var.replica_identifiers
  alarm_name          = "${each.value}-replica-lag-high"
  alarm_description   = "Replica over 3 s behind: it gets no eventual reads and the primary takes them. Check `tessera ops report replication_lag_wal` on the primary."
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  dimensions          = { DBInstanceIdentifier = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 3
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "redis_cpu" {
  for_each            = toset(var.cache_node_ids)
  alarm_name          = "${each.value}-redis-cpu-high"
  alarm_description   = "Redis' thread over 75 % for 10 minutes: check the cache hit ratio and latency; scale the node type before 100 % (Tessera then skips a slow cache and reads fall on PostgreSQL)."
  namespace           = "AWS/ElastiCache"
  metric_name         = "EngineCPUUtilization"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = 75
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}
