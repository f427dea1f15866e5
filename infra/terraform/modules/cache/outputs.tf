output "primary_endpoint" {
  description = "The primary node's DNS name (follows a failover): TESSERA_REDIS_URL's host."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis' port."
  value       = aws_elasticache_replication_group.this.port
}

output "member_cluster_ids" {
  description = "The nodes' cache cluster ids, known before they exist (the alarms' dimensions)."
  value       = local.member_cluster_ids
}
