output "alb_dns_name" {
  description = "The load balancer's DNS name: point the API's host name at it (CNAME or Route 53 alias)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "The load balancer's hosted zone, for a Route 53 alias."
  value       = aws_lb.this.zone_id
}

output "ecr_repository_url" {
  description = "Push the image here, tagged with image_tag."
  value       = aws_ecr_repository.this.repository_url
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "The serve service."
  value       = aws_ecs_service.serve.name
}

output "task_families" {
  description = "Task definition families: serve, migrate, bootstrap."
  value = {
    serve     = aws_ecs_task_definition.serve.family
    migrate   = aws_ecs_task_definition.migrate.family
    bootstrap = aws_ecs_task_definition.bootstrap.family
  }
}

output "log_group_name" {
  description = "The tasks' logs (streams tessera/<container>/<task id>)."
  value       = aws_cloudwatch_log_group.tasks.name
}
