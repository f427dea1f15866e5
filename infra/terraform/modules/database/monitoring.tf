# Enhanced monitoring's role (RDS publishes the OS metrics with it) and the log groups the
# instances export to, made here so that they are encrypted and expire.

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

locals {
  instance_identifiers = concat([var.name, "${var.name}-vault"], [for key in local.replica_keys : "${var.name}-${key}"])
  exported_logs = { for pair in setproduct(local.instance_identifiers, local.log_exports) :
  "${pair[0]}/${pair[1]}" => "/aws/rds/instance/${pair[0]}/${pair[1]}" }
}

resource "aws_cloudwatch_log_group" "postgresql" {
  for_each          = local.exported_logs
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}
