# The Application Load Balancer: HTTPS only (TLS 1.2 and 1.3, the certificate from ACM),
# ending TLS and forwarding HTTP to the tasks in the private subnets. No port 80 listener:
# telemetry clients are configured with an https:// URL once.

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_150:Dev sets deletion_protection false so that terraform destroy can tear it down; staging and prod set it (asserted by infra/checks/test_terraform.py).
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = var.internal
  security_groups            = [var.alb_security_group_id]
  subnets                    = var.internal ? var.app_subnet_ids : var.public_subnet_ids
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "strictest"
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "serve" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the tasks the traffic stays in private subnets, and the tasks' group admits only the balancer. Serving HTTPS in the tasks would need a certificate in each one for no reader.
  name                 = "${var.name}-serve"
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = local.container_port
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # /healthz: 200 while the process is up. Not /readyz, which answers 503 while the database
  # is unreachable: during an RDS failover every task would fail it at once and ECS would
  # replace them all, losing what they hold in memory (README: Health).
  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.serve.arn
  }
}
