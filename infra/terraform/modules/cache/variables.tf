variable "name" {
  description = "The replication group's id and prefix of every name, e.g. tessera-prod."
  type        = string
}

variable "engine_version" {
  description = "Redis 7 (the seed's 7.0; 7.1 is its latest patch line on ElastiCache)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.", var.engine_version))
    error_message = "Redis 7."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string
}

variable "node_count" {
  description = "Nodes: one primary and node_count - 1 replicas, spread over the zones."
  type        = number

  validation {
    condition     = var.node_count >= 1 && var.node_count <= 6
    error_message = "Between 1 and 6 nodes."
  }
}

variable "multi_az" {
  description = "Multi-AZ with automatic failover to a replica (needs 2 nodes or more)."
  type        = bool
}

variable "auth_token" {
  description = "Redis AUTH password (TESSERA_REDIS_URL's)."
  type        = string
  sensitive   = true
}

variable "availability_zones" {
  description = "The zones to place the nodes in, in order."
  type        = list(string)
}

variable "subnet_ids" {
  description = "The data subnets, one per zone."
  type        = list(string)
}

variable "security_group_id" {
  description = "Redis' security group."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the data at rest and the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "How long Redis' slow log and engine log are kept."
  type        = number
}
