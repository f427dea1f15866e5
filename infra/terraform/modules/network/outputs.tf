output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone: the load balancer."
  value       = aws_subnet.public[*].id
}

output "app_subnet_ids" {
  description = "Private subnets for the tasks, one per zone."
  value       = aws_subnet.app[*].id
}

output "data_subnet_ids" {
  description = "Private subnets without a way out, one per zone: RDS, RDS Proxy, ElastiCache."
  value       = aws_subnet.data[*].id
}

output "security_group_ids" {
  description = "The groups by role: alb, app, proxy, db, redis."
  value = {
    alb   = aws_security_group.alb.id
    app   = aws_security_group.app.id
    proxy = aws_security_group.proxy.id
    db    = aws_security_group.db.id
    redis = aws_security_group.redis.id
  }
}
