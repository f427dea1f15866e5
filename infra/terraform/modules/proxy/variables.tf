variable "name" {
  description = "Prefix of every name, e.g. tessera-prod."
  type        = string
}

variable "primary_identifier" {
  description = "The RDS instance the proxy fronts (the primary; its endpoint follows a Multi-AZ failover)."
  type        = string
}

variable "app_secret_arn" {
  description = "Secrets Manager secret with the username and password of tessera_app, the role the server logs in as."
  type        = string
}

variable "kms_key_arn" {
  description = "The KMS key the secret is encrypted with (the proxy decrypts it)."
  type        = string
}

variable "subnet_ids" {
  description = "The data subnets, one per zone."
  type        = list(string)
}

variable "security_group_id" {
  description = "The proxy's security group."
  type        = string
}

variable "max_connections_percent" {
  description = "Share of the primary's max_connections the proxy may open (the rest is for migrations, replicas' tools and operators)."
  type        = number
  default     = 80
}
