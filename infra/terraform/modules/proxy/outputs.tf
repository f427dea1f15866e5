output "endpoint" {
  description = "The proxy's endpoint: TESSERA_DATABASE_URL's host."
  value       = aws_db_proxy.this.endpoint
}

output "name" {
  description = "The proxy's name."
  value       = aws_db_proxy.this.name
}

output "role_arn" {
  description = "The role the proxy reads its secret with."
  value       = aws_iam_role.proxy.arn
}
