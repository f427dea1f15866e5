# ECS on Fargate: the server is stateless (DESIGN.md: run several behind a balancer), so
# there are no hosts to patch or size, an image is the unit of deployment, and the one-off
# jobs (migrations, the bootstrap SQL) are the same image run as a task with another command.

data "aws_region" "current" {}

locals {
  image = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
  logging = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.tasks.name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = "tessera"
    }
  }
  # Empty scratch volumes for a read-only root file system: TESSERA_DIR and /tmp.
  scratch_mounts = [
    { sourceVolume = "state", containerPath = "/var/lib/tessera", readOnly = false },
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
  ]
}

resource "aws_cloudwatch_log_group" "tasks" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "serve" {
  family                   = "${var.name}-serve"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "state"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name      = "tessera"
    image     = local.image
    essential = true
    # The image's entrypoint is `tessera`; the migrate task has migrated before a deployment,
    # so a server only checks the schema (and refuses to start behind it).
    command      = ["serve", "--no-migrate"]
    portMappings = [{ containerPort = local.container_port, protocol = "tcp" }]
    environment  = [for name, value in local.serve_environment : { name = name, value = value }]
    secrets      = [for name, from in local.serve_secrets : { name = name, valueFrom = from }]
    healthCheck = {
      command     = ["CMD-SHELL", "curl -fsS http://127.0.0.1:${local.container_port}/healthz >/dev/null || exit 1"]
      interval    = 15
      timeout     = 3
      retries     = 3
      startPeriod = 60
    }
    # A graceful stop drains for up to 45 s and cancels for 15 s more (README: The guarantee);
    # Fargate's default 30 s would kill it mid-drain.
    stopTimeout            = 120
    readonlyRootFilesystem = true
    mountPoints            = local.scratch_mounts
    linuxParameters        = { initProcessEnabled = true }
    ulimits                = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
    logConfiguration       = local.logging
  }])
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "state"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "migrate"
    image                  = local.image
    essential              = true
    command                = ["migrate"]
    environment            = [for name, value in local.migrate_environment : { name = name, value = value }]
    secrets                = [for name, from in local.migrate_secrets : { name = name, valueFrom = from }]
    readonlyRootFilesystem = true
    mountPoints            = local.scratch_mounts
    logConfiguration       = local.logging
  }])
}

resource "aws_ecs_task_definition" "bootstrap" {
  family                   = "${var.name}-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "bootstrap"
    image                  = var.bootstrap_image
    essential              = true
    user                   = "postgres"
    entryPoint             = ["sh", "-c"]
    command                = ["printf '%s\\n' \"$BOOTSTRAP_SQL\" | psql --no-psqlrc -f -"]
    environment            = [for name, value in local.bootstrap_environment : { name = name, value = value }]
    secrets                = [for name, from in local.bootstrap_secrets : { name = name, valueFrom = from }]
    readonlyRootFilesystem = true
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration       = local.logging
  }])
}

resource "aws_ecs_service" "serve" {
  name             = "${var.name}-serve"
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.serve.arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  network_configuration {
    subnets          = var.app_subnet_ids
    security_groups  = [var.app_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.serve.arn
    container_name   = "tessera"
    container_port   = local.container_port
  }

  # A new revision replaces tasks only once its own are healthy; one that never gets healthy
  # (a schema behind the build, a bad secret) is rolled back.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  lifecycle {
    ignore_changes = [desired_count] # autoscaling's
  }

  depends_on = [aws_lb_listener.https]
}
