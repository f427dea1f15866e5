variable "name" {
  description = "Prefix of every name, e.g. tessera-prod."
  type        = string
}

variable "primary_identifier" {
  description = "The primary's instance identifier."
  type        = string
}

variable "replica_identifiers" {
  description = "Each replica's instance identifier, by key: one replica-lag alarm each."
  type        = map(string)
}

variable "cache_node_ids" {
  description = "The cache nodes' cluster ids: one CPU alarm each."
  type        = list(string)
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each confirms by mail); add other subscribers (PagerDuty, Slack) to the topic yourself."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key the topic is encrypted with (its policy lets CloudWatch use it)."
  type        = string
}
