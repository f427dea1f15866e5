output "primary_identifier" {
  description = "The primary's instance identifier."
  value       = aws_db_instance.primary.identifier
}

output "primary_address" {
  description = "The primary's DNS name (follows a Multi-AZ failover)."
  value       = aws_db_instance.primary.address
}

output "port" {
  description = "PostgreSQL's port."
  value       = aws_db_instance.primary.port
}

output "database_name" {
  description = "Tessera's database."
  value       = var.database_name
}

output "replica_identifiers" {
  description = "Each replica's instance identifier, by key."
  value       = { for key, replica in aws_db_instance.replica : key => replica.identifier }
}

output "replica_addresses" {
  description = "Each replica's DNS name, by key."
  value       = { for key, replica in aws_db_instance.replica : key => replica.address }
}

output "vault_address" {
  description = "The key vault's DNS name."
  value       = aws_db_instance.vault.address
}

output "vault_identifier" {
  description = "The key vault's instance identifier."
  value       = aws_db_instance.vault.identifier
}
