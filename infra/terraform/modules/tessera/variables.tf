# Every setting that differs between environments; each env's terraform.tfvars gives them.
# infra/README.md explains each one.

variable "environment" {
  description = "dev, staging or prod: part of every name."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "dev, staging or prod."
  }
}

variable "availability_zones" {
  description = "The three zones of the region the deployment spans."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "The VPC's /16."
  type        = string
}

variable "nat_gateway_count" {
  description = "NAT gateways: 1, or one per zone (3) so that a zone's loss leaves the others their way out."
  type        = number
}

variable "ingress_cidrs" {
  description = "Who may reach the API's HTTPS port."
  type        = list(string)
}

variable "alb_internal" {
  description = "An internal load balancer instead of an internet-facing one."
  type        = bool
}

variable "certificate_arn" {
  description = "ACM certificate of the API's host name."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the databases and the load balancer from deletion, keep final snapshots, and keep deleted secrets 30 days."
  type        = bool
}

variable "db_engine_version" {
  description = "PostgreSQL 15 (major, or major.minor)."
  type        = string
}

variable "db_instance_class" {
  description = "The primary's instance class."
  type        = string
}

variable "db_multi_az" {
  description = "The primary with a synchronous standby in another zone."
  type        = bool
}

variable "db_allocated_storage_gb" {
  description = "The primary's gp3 storage at creation, GB."
  type        = number
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling's ceiling, GB."
  type        = number
}

variable "db_backup_retention_days" {
  description = "Automated backups and point-in-time restore window, days."
  type        = number
}

variable "performance_insights_retention_days" {
  description = "Performance Insights history on the primary and replicas: 7 (free tier) or up to 731."
  type        = number
}

variable "replicas" {
  description = "Read replicas by key: instance_class and role (read or analytics)."
  type = map(object({
    instance_class = string
    role           = string
  }))
}

variable "vault_instance_class" {
  description = "The key vault's instance class."
  type        = string
}

variable "vault_multi_az" {
  description = "The key vault with a standby."
  type        = bool
}

variable "cache_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "cache_node_count" {
  description = "Redis nodes (a primary and replicas)."
  type        = number
}

variable "cache_multi_az" {
  description = "Redis Multi-AZ with automatic failover."
  type        = bool
}

variable "app_task_cpu" {
  description = "CPU units of a serve task (1024 = 1 vCPU)."
  type        = number
}

variable "app_task_memory" {
  description = "Memory of a serve task, MiB."
  type        = number
}

variable "app_desired_count" {
  description = "Serve tasks at creation."
  type        = number
}

variable "app_min_count" {
  description = "Fewest serve tasks."
  type        = number
}

variable "app_max_count" {
  description = "Most serve tasks."
  type        = number
}

variable "image_tag" {
  description = "The image tag to run."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarms' topic."
  type        = list(string)
}

variable "log_retention_days" {
  description = "How long every log group keeps its logs."
  type        = number
}
