variable "name" {
  description = "Prefix of every name, e.g. tessera-prod (at most 24 characters: the load balancer's name limit less a suffix)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the image in this environment's ECR repository to run (tags are immutable: one per build)."
  type        = string
}

variable "task_cpu" {
  description = "CPU units of a serve task (1024 = 1 vCPU)."
  type        = number
}

variable "task_memory" {
  description = "Memory of a serve task, MiB."
  type        = number
}

variable "desired_count" {
  description = "Serve tasks at creation; autoscaling moves it between min_count and max_count."
  type        = number
}

variable "min_count" {
  description = "Fewest serve tasks autoscaling keeps."
  type        = number
}

variable "max_count" {
  description = "Most serve tasks autoscaling starts."
  type        = number
}

variable "db_pool_size" {
  description = "TESSERA_DB_POOL_SIZE: connections to the proxy per task."
  type        = number
  default     = 20
}

variable "read_pool_size" {
  description = "TESSERA_READ_POOL_SIZE: connections per read node per task."
  type        = number
  default     = 10
}

variable "certificate_arn" {
  description = "ACM certificate of the API's host name, for the HTTPS listener."
  type        = string
}

variable "internal" {
  description = "An internal load balancer (reached from inside the VPC or a peered network) instead of an internet-facing one."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
}

variable "primary_address" {
  description = "The primary's DNS name (the bootstrap task connects to it)."
  type        = string
}

variable "database_name" {
  description = "Tessera's database."
  type        = string
}

variable "secret_arns" {
  description = "Secrets Manager secrets by role: app, master, cache, server, vault (see the tessera module's secrets.tf)."
  type        = map(string)
}

variable "bootstrap_image" {
  description = "An image with psql 15 or later, for the one-off bootstrap task."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:15-bookworm"
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (an internet-facing load balancer)."
  type        = list(string)
}

variable "app_subnet_ids" {
  description = "Private subnets of the tasks (and of an internal load balancer)."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "The load balancer's security group."
  type        = string
}

variable "app_security_group_id" {
  description = "The tasks' security group."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the image repository, the log groups and the secrets."
  type        = string
}

variable "log_retention_days" {
  description = "How long the tasks' logs and the WAF's are kept."
  type        = number
}
