output "api_url" {
  description = "The load balancer's URL."
  value       = module.tessera.api_url
}

output "alb_dns_name" {
  description = "Point the API's host name here."
  value       = module.tessera.alb_dns_name
}

output "alb_zone_id" {
  description = "For a Route 53 alias."
  value       = module.tessera.alb_zone_id
}

output "ecr_repository_url" {
  description = "Push the image here."
  value       = module.tessera.ecr_repository_url
}

output "bootstrap_command" {
  description = "The one-off bootstrap task (roles, extensions, pg_cron's job)."
  value       = module.tessera.bootstrap_command
}

output "migrate_command" {
  description = "The one-off migration task."
  value       = module.tessera.migrate_command
}

output "ecs_cluster" {
  description = "The ECS cluster."
  value       = module.tessera.ecs_cluster
}

output "ecs_service" {
  description = "The serve service."
  value       = module.tessera.ecs_service
}

output "log_group" {
  description = "The tasks' logs."
  value       = module.tessera.log_group
}

output "primary_endpoint" {
  description = "The primary."
  value       = module.tessera.primary_endpoint
}

output "proxy_endpoint" {
  description = "RDS Proxy."
  value       = module.tessera.proxy_endpoint
}

output "replica_endpoints" {
  description = "The replicas."
  value       = module.tessera.replica_endpoints
}

output "vault_endpoint" {
  description = "The key vault."
  value       = module.tessera.vault_endpoint
}

output "redis_endpoint" {
  description = "The Redis primary."
  value       = module.tessera.redis_endpoint
}

output "secret_arns" {
  description = "The secrets by role."
  value       = module.tessera.secret_arns
}

output "alarm_topic_arn" {
  description = "The alarms' topic."
  value       = module.tessera.alarm_topic_arn
}

output "kms_key_arn" {
  description = "The environment's KMS key."
  value       = module.tessera.kms_key_arn
}
