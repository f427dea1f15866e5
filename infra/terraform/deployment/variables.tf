# The environment's settings: sizes in terraform.tfvars; certificate_arn and image_tag given
# at plan time (-var), since they change with the operator's domain and with every build.

variable "environment" {
  description = "dev, staging or prod."
  type        = string
}

variable "region" {
  description = "AWS region (the seed's: us-east-1)."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Three zones of the region."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "The VPC's /16."
  type        = string
}

variable "nat_gateway_count" {
  description = "NAT gateways, 1 to 3."
  type        = number
}

variable "ingress_cidrs" {
  description = "Who may reach the API's HTTPS port."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "alb_internal" {
  description = "An internal load balancer."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate of the API's host name (in the same region)."
  type        = string
}

variable "deletion_protection" {
  description = "Protect databases and load balancer from deletion; final snapshots; secrets recoverable 30 days."
  type        = bool
}

variable "db_engine_version" {
  description = "PostgreSQL 15."
  type        = string
  default     = "15"
}

variable "db_instance_class" {
  description = "The primary's class."
  type        = string
}

variable "db_multi_az" {
  description = "The primary Multi-AZ."
  type        = bool
}

variable "db_allocated_storage_gb" {
  description = "Storage at creation, GB."
  type        = number
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling, GB."
  type        = number
}

variable "db_backup_retention_days" {
  description = "Backups and point-in-time restore window, days."
  type        = number
}

variable "performance_insights_retention_days" {
  description = "Performance Insights history, days (7 or up to 731)."
  type        = number
}

variable "replicas" {
  description = "Read replicas: key => { instance_class, role = read | analytics }."
  type = map(object({
    instance_class = string
    role           = string
  }))
}

variable "vault_instance_class" {
  description = "The key vault's class."
  type        = string
}

variable "vault_multi_az" {
  description = "The key vault Multi-AZ."
  type        = bool
}

variable "cache_node_type" {
  description = "Redis node type."
  type        = string
}

variable "cache_node_count" {
  description = "Redis nodes."
  type        = number
}

variable "cache_multi_az" {
  description = "Redis Multi-AZ with automatic failover."
  type        = bool
}

variable "app_task_cpu" {
  description = "CPU units of a serve task."
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
  description = "The image tag to run (pushed to this environment's ECR repository)."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarms."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "How long logs are kept, days."
  type        = number
  default     = 365
}
