# What an operator needs next (infra/README.md walks through them in order).

locals {
  network_configuration = "awsvpcConfiguration={subnets=[${join(",", module.network.app_subnet_ids)}],securityGroups=[${module.network.security_group_ids["app"]}],assignPublicIp=DISABLED}"
  run_task              = "aws ecs run-task --region ${data.aws_region.current.name} --cluster ${module.app.cluster_name} --launch-type FARGATE --network-configuration '${local.network_configuration}' --task-definition"
}

output "api_url" {
  description = "The load balancer's URL; point the certificate's host name at alb_dns_name and use that name."
  value       = "https://${module.app.alb_dns_name}"
}

output "alb_dns_name" {
  description = "The load balancer's DNS name (CNAME or Route 53 alias target)."
  value       = module.app.alb_dns_name
}

output "alb_zone_id" {
  description = "The load balancer's hosted zone id, for a Route 53 alias."
  value       = module.app.alb_zone_id
}

output "ecr_repository_url" {
  description = "Where to push the image (docker tag/push <url>:<image_tag>)."
  value       = module.app.ecr_repository_url
}

output "bootstrap_command" {
  description = "Runs bootstrap.sql once as the master user (roles, extensions, pg_cron's job): before the first migration, after the first reboot."
  value       = "${local.run_task} ${module.app.task_families["bootstrap"]}"
}

output "migrate_command" {
  description = "Runs `tessera migrate` as a one-off task: before every deployment of a new image."
  value       = "${local.run_task} ${module.app.task_families["migrate"]}"
}

output "ecs_cluster" {
  description = "The ECS cluster."
  value       = module.app.cluster_name
}

output "ecs_service" {
  description = "The serve service (aws ecs update-service --force-new-deployment to restart it)."
  value       = module.app.service_name
}

output "log_group" {
  description = "The tasks' logs."
  value       = module.app.log_group_name
}

output "primary_endpoint" {
  description = "The primary, for migrations and operators' tools (ops report, psql)."
  value       = module.database.primary_address
}

output "proxy_endpoint" {
  description = "RDS Proxy: TESSERA_DATABASE_URL's host."
  value       = module.proxy.endpoint
}

output "replica_endpoints" {
  description = "The replicas by key."
  value       = module.database.replica_addresses
}

output "vault_endpoint" {
  description = "The key vault."
  value       = module.database.vault_address
}

output "redis_endpoint" {
  description = "The Redis primary: TESSERA_REDIS_URL's host."
  value       = module.cache.primary_endpoint
}

output "secret_arns" {
  description = "The secrets by role (app, master, cache, server, vault): aws secretsmanager get-secret-value --secret-id <arn>."
  value       = { for role, secret in aws_secretsmanager_secret.this : role => secret.arn }
}

output "alarm_topic_arn" {
  description = "The alarms' SNS topic: subscribe the on-call's pager to it."
  value       = module.alarms.topic_arn
}

output "kms_key_arn" {
  description = "The environment's KMS key."
  value       = aws_kms_key.this.arn
}
