variable "name" {
  description = "Prefix of every name, e.g. tessera-prod."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; a /16 leaves room for the three subnet tiers below."
  type        = string
}

variable "availability_zones" {
  description = "The zones the subnets span, one subnet of each tier per zone (the seed: three)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3
    error_message = "Three distinct availability zones, as the seed's deployment."
  }
}

variable "nat_gateway_count" {
  description = "NAT gateways for the tasks' way out (ECR, Secrets Manager, CloudWatch): 1 is cheaper, one per zone survives a zone's loss."
  type        = number

  validation {
    condition     = var.nat_gateway_count >= 1 && var.nat_gateway_count <= 3
    error_message = "Between 1 and 3 NAT gateways."
  }
}

variable "app_port" {
  description = "The port tessera serve listens on in its container."
  type        = number
  default     = 8080
}

variable "ingress_cidrs" {
  description = "Who may reach the load balancer's HTTPS port."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for the flow logs' log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long the VPC flow logs are kept."
  type        = number
}
