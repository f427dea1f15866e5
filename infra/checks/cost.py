#!/usr/bin/env python3
"""The monthly cost estimate of each environment, from its terraform.tfvars and the unit
prices below, as the two tables of infra/README.md ("Cost"). test_cost.py fails when the
README's tables are not this script's output, so a change of sizes updates the estimate:

  .venv/infra-hcl2/bin/python infra/checks/cost.py     print the tables (markdown)

The prices are us-east-1 on-demand list prices as known to the author (AWS price pages,
2025), not fetched live: check them against the AWS Pricing Calculator before a budget.
Usage-driven lines (traffic, log volume) rest on the assumptions in USAGE.
"""
from tfmodel import ENVIRONMENTS, Instance

HOURS = 730  # a month

# USD. Instances: per hour, single-AZ (Multi-AZ: twice, for the standby).
PRICES = {
    "rds": {"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129,
            "db.r6g.large": 0.225, "db.r6g.xlarge": 0.449, "db.r6g.2xlarge": 0.899, "db.r6g.4xlarge": 1.798},
    "vcpus": {"db.t4g.micro": 2, "db.t4g.small": 2, "db.t4g.medium": 2, "db.t4g.large": 2,
              "db.r6g.large": 2, "db.r6g.xlarge": 4, "db.r6g.2xlarge": 8, "db.r6g.4xlarge": 16},
    "gp3_gb_month": 0.115,            # per GB-month and per copy (Multi-AZ stores two)
    "backup_gb_month": 0.095,         # beyond the free allowance (100 % of provisioned storage)
    "pi_first_month_vcpu": 1.36,      # Performance Insights past the free 7 days: first month, per vCPU-month
    "pi_extra_month_vcpu": 0.057,     # each further month of retention, per vCPU-month
    "proxy_vcpu_hour": 0.015,         # RDS Proxy, per vCPU of the target instance (2 at least)
    "cache": {"cache.t4g.micro": 0.016, "cache.t4g.small": 0.032, "cache.t4g.medium": 0.065,
              "cache.r7g.large": 0.219, "cache.r7g.xlarge": 0.437},
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    "alb_hour": 0.0225,
    "alb_lcu_hour": 0.008,
    "nat_hour": 0.045,
    "nat_gb": 0.045,
    "waf_acl_month": 5.0,
    "waf_rule_month": 1.0,
    "waf_million_requests": 0.60,
    "kms_key_month": 1.0,
    "secret_month": 0.40,
    "alarm_month": 0.10,
    "logs_ingest_gb": 0.50,
    "logs_store_gb_month": 0.03,
    "container_insights_task_month": 2.0,  # assumed: Container Insights' metrics per running task
    "enhanced_monitoring_instance_month": 0.25,  # RDSOSMetrics log volume at 60 s
    "cross_az_gb": 0.02,              # $0.01 out of one zone plus $0.01 into the other
    "s3_gb_month": 0.023,
    "ecr_gb_month": 0.10,
}

# Assumed traffic per month: load balancer capacity units, NAT traffic (image pulls, AWS API
# calls, logs), requests through WAF, logs ingested, bytes crossing zones (app to database
# and cache), backup storage beyond the free allowance (share of the primary's storage),
# access logs kept.
USAGE = {
    "dev": dict(lcu=1, nat_gb=20, requests_million=1, logs_gb=5, cross_az_gb=20, backup_extra=0.0, access_logs_gb=1),
    "staging": dict(lcu=2, nat_gb=50, requests_million=5, logs_gb=20, cross_az_gb=200, backup_extra=0.0, access_logs_gb=5),
    "prod": dict(lcu=5, nat_gb=200, requests_million=30, logs_gb=100, cross_az_gb=2000, backup_extra=0.5, access_logs_gb=50),
}
WAF_RULES = 2
SECRETS = 5
IMAGES_GB = 5  # 50 images of ~100 MB kept by the lifecycle policy


def sizes(name):
    return Instance.environment(name).tfvars


def pi_vcpu_month(days):
    if days <= 7:
        return 0.0
    months = 24 if days == 731 else days // 31
    return PRICES["pi_first_month_vcpu"] + (months - 1) * PRICES["pi_extra_month_vcpu"]


def estimate(name):
    """[(line, dollars a month)] for one environment."""
    v, u, p = sizes(name), USAGE[name], PRICES
    copies = 2 if v["db_multi_az"] else 1
    primary = p["rds"][v["db_instance_class"]] * HOURS * copies
    replicas = sum(p["rds"][r["instance_class"]] * HOURS for r in v["replicas"].values())
    vault = p["rds"][v["vault_instance_class"]] * HOURS * (2 if v["vault_multi_az"] else 1)
    storage_gb = v["db_allocated_storage_gb"] * (copies + len(v["replicas"])) + 20 * (2 if v["vault_multi_az"] else 1)
    storage = storage_gb * p["gp3_gb_month"]
    backups = v["db_allocated_storage_gb"] * u["backup_extra"] * p["backup_gb_month"]
    pi_vcpus = p["vcpus"][v["db_instance_class"]] * copies + sum(p["vcpus"][r["instance_class"]] for r in v["replicas"].values())
    insights = pi_vcpus * pi_vcpu_month(v["performance_insights_retention_days"])
    proxy = max(2, p["vcpus"][v["db_instance_class"]]) * p["proxy_vcpu_hour"] * HOURS
    cache = p["cache"][v["cache_node_type"]] * HOURS * v["cache_node_count"]
    tasks = v["app_min_count"]
    fargate = tasks * HOURS * (v["app_task_cpu"] / 1024 * p["fargate_vcpu_hour"] + v["app_task_memory"] / 1024 * p["fargate_gb_hour"])
    alb = HOURS * (p["alb_hour"] + u["lcu"] * p["alb_lcu_hour"])
    waf = p["waf_acl_month"] + WAF_RULES * p["waf_rule_month"] + u["requests_million"] * p["waf_million_requests"]
    nat = v["nat_gateway_count"] * HOURS * p["nat_hour"] + u["nat_gb"] * p["nat_gb"]
    instances = 2 + len(v["replicas"])
    alarms = 2 * (1 + len(v["replicas"])) + len(v["replicas"]) + v["cache_node_count"]
    cloudwatch = (alarms * p["alarm_month"] + u["logs_gb"] * p["logs_ingest_gb"] + 12 * u["logs_gb"] * p["logs_store_gb_month"]
                  + tasks * p["container_insights_task_month"] + instances * p["enhanced_monitoring_instance_month"])
    small = (p["kms_key_month"] + SECRETS * p["secret_month"] + IMAGES_GB * p["ecr_gb_month"]
             + u["access_logs_gb"] * p["s3_gb_month"])
    transfer = u["cross_az_gb"] * p["cross_az_gb"]
    return [
        ("RDS primary (and its Multi-AZ standby)", primary),
        ("RDS read and analytics replicas", replicas),
        ("RDS key vault", vault),
        ("RDS gp3 storage (primary, standby, replicas, vault)", storage),
        ("RDS backup storage beyond the free allowance", backups),
        ("Performance Insights retention past 7 days", insights),
        ("RDS Proxy", proxy),
        ("ElastiCache Redis", cache),
        ("ECS Fargate serve tasks (at the minimum count)", fargate),
        ("Application Load Balancer", alb),
        ("AWS WAF", waf),
        ("NAT gateways", nat),
        ("CloudWatch: alarms, logs, Container Insights, enhanced monitoring", cloudwatch),
        ("KMS, Secrets Manager, ECR, S3 access logs", small),
        ("Data transfer between zones", transfer),
    ]


def money(value):
    return f"${value:,.0f}" if value >= 10 else f"${value:,.2f}"


def sizing_table():
    rows = [("", *ENVIRONMENTS)]
    v = {name: sizes(name) for name in ENVIRONMENTS}

    def row(label, value):
        rows.append((label, *(value(v[name]) for name in ENVIRONMENTS)))

    row("primary", lambda s: s["db_instance_class"] + (", Multi-AZ" if s["db_multi_az"] else ", single-AZ"))
    row("replicas", lambda s: ", ".join(f'{k} ({r["role"]}) {r["instance_class"]}' for k, r in sorted(s["replicas"].items())))
    row("storage (gp3, autoscaling to)", lambda s: f'{s["db_allocated_storage_gb"]:,} GB (to {s["db_max_allocated_storage_gb"]:,})')
    row("backups / PITR window", lambda s: f'{s["db_backup_retention_days"]} days')
    row("Performance Insights", lambda s: f'{s["performance_insights_retention_days"]} days')
    row("key vault", lambda s: s["vault_instance_class"] + (", Multi-AZ" if s["vault_multi_az"] else ", single-AZ"))
    row("Redis", lambda s: f'{s["cache_node_count"]} x {s["cache_node_type"]}' + (", Multi-AZ, failover" if s["cache_multi_az"] else ""))
    row("serve tasks (vCPU / GiB)", lambda s: f'{s["app_min_count"]}-{s["app_max_count"]} x {s["app_task_cpu"] / 1024:g} / {s["app_task_memory"] / 1024:g}')
    row("NAT gateways", lambda s: str(s["nat_gateway_count"]))
    row("deletion protection", lambda s: "yes" if s["deletion_protection"] else "no")
    return rows


def cost_table():
    estimates = {name: estimate(name) for name in ENVIRONMENTS}
    rows = [("monthly, USD", *ENVIRONMENTS)]
    for index, (label, _) in enumerate(estimates["prod"]):
        rows.append((label, *(money(estimates[name][index][1]) for name in ENVIRONMENTS)))
    rows.append(("**total**", *(f"**{money(sum(cost for _, cost in estimates[name]))}**" for name in ENVIRONMENTS)))
    return rows


def markdown(rows):
    lines = ["| " + " | ".join(rows[0]) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def render():
    return markdown(sizing_table()) + "\n\n" + markdown(cost_table()) + "\n"


if __name__ == "__main__":
    print(render(), end="")
