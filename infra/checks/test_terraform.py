"""Structural tests of infra/terraform (issue 23): each item of the seed's deployment, per
environment, read from the parsed modules and each environment's terraform.tfvars. A change
that drops one (a zone, Multi-AZ, a replica's alarm, TLS, encryption) fails here.

Run by scripts/check-infra.sh (make test) with python-hcl2 in .venv/infra-hcl2.
"""
import os
import re
import unittest

from tfmodel import ENVIRONMENTS, ROOT, TERRAFORM, Instance, Module, every_module, load

# What each environment is decided to be (infra/README.md, "Environments"). Change a
# terraform.tfvars on purpose, change this table with it.
EXPECTED = {
    "dev": dict(db_multi_az=False, read_replicas=1, analytics_replicas=0, pi_days=7, backup_days=7,
                cache_nodes=1, cache_multi_az=False, vault_multi_az=False, deletion_protection=False, nat=1),
    "staging": dict(db_multi_az=True, read_replicas=1, analytics_replicas=0, pi_days=7, backup_days=7,
                    cache_nodes=2, cache_multi_az=True, vault_multi_az=False, deletion_protection=True, nat=1),
    "prod": dict(db_multi_az=True, read_replicas=2, analytics_replicas=1, pi_days=731, backup_days=35,
                 cache_nodes=3, cache_multi_az=True, vault_multi_az=True, deletion_protection=True, nat=3),
}
REGION = "us-east-1"
TEN_GIB = 10 * 1024**3


def env(name):
    return Instance.environment(name)


def tessera(name):
    return env(name).child("tessera")


class NetworkTests(unittest.TestCase):
    def test_three_zones_of_us_east_1(self):
        for name, _ in EXPECTED.items():
            with self.subTest(environment=name):
                self.assertEqual(env(name).var("region"), REGION)
                zones = tessera(name).child("network").var("availability_zones")
                self.assertEqual(len(zones), 3)
                self.assertEqual(len(set(zones)), 3)
                for zone in zones:
                    self.assertTrue(zone.startswith(REGION), zone)

    def test_every_tier_has_a_subnet_in_each_zone(self):
        network = tessera("prod").child("network")
        self.assertEqual(network.module.locals["az_count"], "${length(var.availability_zones)}")
        for tier in ("public", "app", "data"):
            body = network.resource("aws_subnet", tier)
            self.assertEqual(body["count"], "${local.az_count}", tier)
            self.assertEqual(body["availability_zone"], "${var.availability_zones[count.index]}", tier)
        self.assertFalse(network.attribute("aws_subnet", "public", "map_public_ip_on_launch"))

    def test_nat_gateways(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                self.assertEqual(tessera(name).child("network").var("nat_gateway_count"), expected["nat"])

    def test_the_data_tier_has_no_route_out(self):
        network = Module.at(os.path.join(TERRAFORM, "modules", "network"))
        for route_name, route in network.resources_of("aws_route").items():
            self.assertNotIn("aws_route_table.data", route["route_table_id"], route_name)

    def test_data_subnets_carry_database_proxy_and_cache(self):
        module = Module.at(os.path.join(TERRAFORM, "modules", "tessera"))
        for call in ("database", "proxy", "cache"):
            self.assertEqual(module.modules[call]["subnet_ids"], "${module.network.data_subnet_ids}", call)

    def test_only_the_app_reaches_database_proxy_and_redis(self):
        network = Module.at(os.path.join(TERRAFORM, "modules", "network"))
        allowed = {"db": {"app", "proxy"}, "proxy": {"app"}, "redis": {"app"}, "app": {"alb"}}
        seen = {group: set() for group in allowed}
        for rule_name, rule in network.resources_of("aws_vpc_security_group_ingress_rule").items():
            target = re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", rule["security_group_id"]).group(1)
            if target == "alb":
                self.assertEqual(rule["from_port"], 443, rule_name)
                continue
            self.assertNotIn("cidr_ipv4", rule, f"{rule_name}: the {target} group admits an address range")
            source = re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", rule["referenced_security_group_id"]).group(1)
            self.assertIn(source, allowed[target], f"{rule_name}: {source} may not reach {target}")
            seen[target].add(source)
        self.assertEqual(seen, allowed)
        # Nothing but the security group rules above opens them: no inline rules.
        for group_name, group in network.resources_of("aws_security_group").items():
            self.assertNotIn("ingress", group, group_name)


class DatabaseTests(unittest.TestCase):
    def test_primary(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                attr = lambda a: db.attribute("aws_db_instance", "primary", a)  # noqa: E731
                self.assertEqual(attr("engine"), "postgres")
                self.assertRegex(str(attr("engine_version")), r"^15(\.\d+)?$")
                self.assertIs(attr("multi_az"), expected["db_multi_az"])
                self.assertIs(attr("storage_encrypted"), True)
                self.assertEqual(attr("kms_key_id"), "${aws_kms_key.this.arn}")
                self.assertIs(attr("publicly_accessible"), False)
                self.assertEqual(attr("backup_retention_period"), expected["backup_days"])
                self.assertGreaterEqual(attr("backup_retention_period"), 7, "automated backups and point-in-time restore")
                self.assertIsInstance(attr("backup_window"), str)
                self.assertIs(attr("deletion_protection"), expected["deletion_protection"])
                self.assertIs(attr("copy_tags_to_snapshot"), True)
                self.assertEqual(attr("db_name"), "tessera")

    def test_performance_insights_731_days_in_prod(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                for rtype, rname in (("aws_db_instance", "primary"), ("aws_db_instance", "replica")):
                    self.assertIs(db.attribute(rtype, rname, "performance_insights_enabled"), True)
                    self.assertEqual(db.attribute(rtype, rname, "performance_insights_retention_period"), expected["pi_days"])
                    self.assertEqual(db.attribute(rtype, rname, "performance_insights_kms_key_id"), "${aws_kms_key.this.arn}")
        self.assertEqual(tessera("prod").child("database").attribute("aws_db_instance", "primary", "performance_insights_retention_period"), 731)

    def test_enhanced_monitoring_every_60_s_with_its_role(self):
        for name, _ in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                for rname in ("primary", "replica", "vault"):
                    self.assertEqual(db.attribute("aws_db_instance", rname, "monitoring_interval"), 60, rname)
                    self.assertEqual(db.attribute("aws_db_instance", rname, "monitoring_role_arn"), "${aws_iam_role.monitoring.arn}", rname)
        db = tessera("prod").child("database")
        self.assertIn("monitoring.rds.amazonaws.com", db.attribute("aws_iam_role", "monitoring", "assume_role_policy"))
        attachment = db.resource("aws_iam_role_policy_attachment", "monitoring")
        self.assertEqual(attachment["role"], "${aws_iam_role.monitoring.name}")
        self.assertTrue(attachment["policy_arn"].endswith("service-role/AmazonRDSEnhancedMonitoringRole"))

    def test_replicas_per_environment(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                replicas = db.var("replicas")
                roles = [r["role"] for r in replicas.values()]
                self.assertEqual(roles.count("read"), expected["read_replicas"])
                self.assertEqual(roles.count("analytics"), expected["analytics_replicas"])
                body = db.resource("aws_db_instance", "replica")
                self.assertEqual(body["for_each"], "${var.replicas}")
                self.assertEqual(body["replicate_source_db"], "${aws_db_instance.primary.identifier}")
                self.assertIs(db.eval(body["storage_encrypted"]), True)
                self.assertEqual(db.eval(body["kms_key_id"]), "${aws_kms_key.this.arn}")
                self.assertIs(db.eval(body["publicly_accessible"]), False)
                self.assertEqual(body["parameter_group_name"], "${aws_db_parameter_group.tessera.name}")

    def test_parameter_group_carries_what_tessera_needs(self):
        for name, _ in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                group = db.resource("aws_db_parameter_group", "tessera")
                self.assertEqual(group["family"], "postgres15")
                params = {p["name"]: db.eval(p["value"]) for p in group["parameter"]}
                preload = params["shared_preload_libraries"].split(",")
                for library in ("pg_stat_statements", "pg_cron", "pgaudit"):
                    self.assertIn(library, preload)
                self.assertEqual(params["wal_compression"], "lz4")
                self.assertEqual(params["cron.database_name"], db.attribute("aws_db_instance", "primary", "db_name"))
                self.assertEqual(params["rds.force_ssl"], "1")
                self.assertEqual(params["max_locks_per_transaction"], "1024")
                self.assertEqual(params["pgaudit.log"], "ddl,role")
                self.assertEqual(db.attribute("aws_db_instance", "primary", "parameter_group_name"), "${aws_db_parameter_group.tessera.name}")

    def test_key_vault(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                db = tessera(name).child("database")
                attr = lambda a: db.attribute("aws_db_instance", "vault", a)  # noqa: E731
                self.assertIs(attr("storage_encrypted"), True)
                self.assertIs(attr("multi_az"), expected["vault_multi_az"])
                self.assertEqual(attr("backup_retention_period"), "${min(var.backup_retention_days, 7)}",
                                 "the vault's backups are kept 7 days at most (README: Crypto-shredding)")
                params = {p["name"]: p["value"] for p in db.resource("aws_db_parameter_group", "vault")["parameter"]}
                self.assertEqual(params["rds.force_ssl"], "1")


class ProxyTests(unittest.TestCase):
    def test_rds_proxy_with_its_secret_role_and_tls(self):
        for name, _ in EXPECTED.items():
            with self.subTest(environment=name):
                proxy = tessera(name).child("proxy")
                body = proxy.resource("aws_db_proxy", "this")
                self.assertEqual(body["engine_family"], "POSTGRESQL")
                self.assertIs(body["require_tls"], True)
                auth = body["auth"][0]
                self.assertEqual(auth["auth_scheme"], "SECRETS")
                self.assertEqual(proxy.eval(auth["secret_arn"]), '${aws_secretsmanager_secret.this["app"].arn}')
                self.assertEqual(body["role_arn"], "${aws_iam_role.proxy.arn}")
                self.assertIn("rds.amazonaws.com", proxy.attribute("aws_iam_role", "proxy", "assume_role_policy"))
                policy = proxy.attribute("aws_iam_role_policy", "proxy", "policy")
                self.assertIn("secretsmanager:GetSecretValue", policy)
                self.assertIn("[var.app_secret_arn]", policy.replace(" ", ""))
                self.assertEqual(proxy.eval(proxy.resource("aws_db_proxy_target", "primary")["db_instance_identifier"]),
                                 "${module.database.primary_identifier}")


class CacheTests(unittest.TestCase):
    def test_redis_7_replication_group(self):
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                cache = tessera(name).child("cache")
                attr = lambda a: cache.attribute("aws_elasticache_replication_group", "this", a)  # noqa: E731
                self.assertEqual(attr("engine"), "redis")
                self.assertRegex(attr("engine_version"), r"^7\.")
                self.assertEqual(attr("num_cache_clusters"), expected["cache_nodes"])
                self.assertIs(attr("multi_az_enabled"), expected["cache_multi_az"])
                self.assertIs(attr("automatic_failover_enabled"), expected["cache_multi_az"])
                self.assertIs(attr("transit_encryption_enabled"), True)
                self.assertEqual(attr("transit_encryption_mode"), "required")
                self.assertIs(attr("at_rest_encryption_enabled"), True)
                self.assertEqual(attr("kms_key_id"), "${aws_kms_key.this.arn}")
                self.assertEqual(attr("auth_token"), "${random_password.redis.result}")
                group = cache.resource("aws_elasticache_parameter_group", "this")
                self.assertEqual(group["family"], "redis7")
                self.assertEqual({p["name"]: p["value"] for p in group["parameter"]}, {"maxmemory-policy": "allkeys-lru"})
                self.assertEqual(attr("parameter_group_name"), "${aws_elasticache_parameter_group.this.name}")


class AlarmTests(unittest.TestCase):
    ALARMS = {
        # resource: (namespace, metric, comparison, threshold, for_each)
        "db_cpu": ("AWS/RDS", "CPUUtilization", "GreaterThanThreshold", 80, "${local.db_instances}"),
        "db_free_storage": ("AWS/RDS", "FreeStorageSpace", "LessThanThreshold", TEN_GIB, "${local.db_instances}"),
        "replica_lag": ("AWS/RDS", "ReplicaLag", "GreaterThanThreshold", 3, "${var.replica_identifiers}"),
        "redis_cpu": ("AWS/ElastiCache", "EngineCPUUtilization", "GreaterThanThreshold", 75, "${toset(var.cache_node_ids)}"),
    }

    def test_the_seeds_four_alarms_with_their_thresholds(self):
        alarms = tessera("prod").child("alarms")
        self.assertEqual(set(alarms.module.resources_of("aws_cloudwatch_metric_alarm")), set(self.ALARMS))
        for rname, (namespace, metric, comparison, threshold, for_each) in self.ALARMS.items():
            with self.subTest(alarm=rname):
                body = alarms.resource("aws_cloudwatch_metric_alarm", rname)
                self.assertEqual(body["namespace"], namespace)
                self.assertEqual(body["metric_name"], metric)
                self.assertEqual(body["comparison_operator"], comparison)
                self.assertEqual(alarms.eval(body["threshold"]), threshold)
                self.assertEqual(body["for_each"], for_each)
                self.assertEqual(alarms.eval(body["alarm_actions"]), ["${aws_sns_topic.alarms.arn}"])
        self.assertEqual(alarms.attribute("aws_cloudwatch_metric_alarm", "replica_lag", "dimensions"),
                         {"DBInstanceIdentifier": "${each.value}"})
        self.assertEqual(alarms.attribute("aws_cloudwatch_metric_alarm", "redis_cpu", "dimensions"),
                         {"CacheClusterId": "${each.value}"})
        self.assertEqual(alarms.module.locals["db_instances"], "${merge({primary = var.primary_identifier}, var.replica_identifiers)}")
        self.assertEqual(alarms.attribute("aws_sns_topic", "alarms", "kms_master_key_id"), "${aws_kms_key.this.arn}")

    def test_one_lag_alarm_per_replica_and_one_cpu_alarm_per_node(self):
        tessera_module = Module.at(os.path.join(TERRAFORM, "modules", "tessera"))
        call = tessera_module.modules["alarms"]
        self.assertEqual(call["replica_identifiers"], "${module.database.replica_identifiers}")
        self.assertEqual(call["cache_node_ids"], "${module.cache.member_cluster_ids}")
        database = Module.at(os.path.join(TERRAFORM, "modules", "database"))
        self.assertEqual(database.outputs["replica_identifiers"]["value"],
                         "${{for key, replica in aws_db_instance.replica : key => replica.identifier}}")
        cache = Module.at(os.path.join(TERRAFORM, "modules", "cache"))
        self.assertEqual(cache.outputs["member_cluster_ids"]["value"], "${local.member_cluster_ids}")
        self.assertIn("range(var.node_count)", cache.locals["member_cluster_ids"])
        for name, expected in EXPECTED.items():
            with self.subTest(environment=name):
                replicas = expected["read_replicas"] + expected["analytics_replicas"]
                self.assertEqual(len(tessera(name).child("database").var("replicas")), replicas)
                self.assertEqual(tessera(name).child("cache").var("node_count"), expected["cache_nodes"])


class EncryptionAtRestTests(unittest.TestCase):
    """Every resource that stores something, in every module, is encrypted."""

    def test_everything_stored_is_encrypted(self):
        buckets_encrypted = set()
        for module in every_module():
            for name, body in module.resources_of("aws_s3_bucket_server_side_encryption_configuration").items():
                buckets_encrypted.add(body["bucket"])
        checked = 0
        for module in every_module():
            where = os.path.relpath(module.path, ROOT)
            for name, body in module.resources_of("aws_db_instance").items():
                self.assertIs(body.get("storage_encrypted"), True, f"{where}: {name}")
                self.assertIn("kms_key_id", body, f"{where}: {name}")
                checked += 1
            for name, body in module.resources_of("aws_elasticache_replication_group").items():
                self.assertIs(body.get("at_rest_encryption_enabled"), True, f"{where}: {name}")
                self.assertIn("kms_key_id", body, f"{where}: {name}")
                checked += 1
            for rtype, attribute in (("aws_sns_topic", "kms_master_key_id"), ("aws_cloudwatch_log_group", "kms_key_id"),
                                     ("aws_secretsmanager_secret", "kms_key_id")):
                for name, body in module.resources_of(rtype).items():
                    self.assertIn(attribute, body, f"{where}: {rtype}.{name}")
                    checked += 1
            for name, body in module.resources_of("aws_ecr_repository").items():
                self.assertEqual(body["encryption_configuration"][0]["encryption_type"], "KMS", f"{where}: {name}")
                checked += 1
            for name in module.resources_of("aws_s3_bucket"):
                self.assertIn(f"${{aws_s3_bucket.{name}.id}}", buckets_encrypted, f"{where}: bucket {name}")
                checked += 1
            for name, body in module.resources_of("aws_kms_key").items():
                self.assertIs(body.get("enable_key_rotation"), True, f"{where}: {name}")
        self.assertGreaterEqual(checked, 13)


class TransitTests(unittest.TestCase):
    def test_tls_on_every_connection(self):
        t = tessera("prod")
        values = t.module.locals["secret_values"]
        self.assertIn("${local.proxy_tls}", values["app"]["database_url"])
        self.assertEqual(t.module.locals["proxy_tls"], "sslmode=verify-full")
        self.assertEqual(t.module.locals["direct_tls"], "sslmode=verify-full&sslrootcert=${local.rds_ca_file}")
        self.assertIn("${local.direct_tls}", t.module.locals["replica_urls"])
        self.assertIn("${local.direct_tls}", values["master"]["database_url"])
        self.assertIn("${local.direct_tls}", values["vault"]["database_url"])
        self.assertTrue(values["cache"]["url"].startswith("rediss://"), "Redis over TLS")
        app = t.child("app")
        listeners = app.module.resources_of("aws_lb_listener")
        self.assertEqual(set(listeners), {"https"}, "HTTPS only")
        self.assertEqual(listeners["https"]["protocol"], "HTTPS")
        self.assertRegex(listeners["https"]["ssl_policy"], r"TLS13-1-2")


class AppTests(unittest.TestCase):
    def server_reads(self):
        """The variables the executable reads: TesseraEnvironment's value("…")/isOn("…"), and
        environment["…"] wherever else (the log format, read before anything else)."""
        names = set()
        folder = os.path.join(ROOT, "Sources", "tessera")
        for file in os.listdir(folder):
            with open(os.path.join(folder, file), encoding="utf-8") as handle:
                names |= set(re.findall(r'(?:value\(|isOn\(|environment\[)"(TESSERA_[A-Z_]+)"', handle.read()))
        self.assertIn("TESSERA_DATABASE_URL", names)
        self.assertIn("TESSERA_LOG_FORMAT", names)
        return names

    def test_environment_is_what_tessera_serve_reads(self):
        app = tessera("prod").child("app")
        environment = app.local("serve_environment")
        secrets = app.local("serve_secrets")
        reads = self.server_reads()
        for variable in list(environment) + list(secrets):
            self.assertIn(variable, reads, f"{variable}: tessera does not read it")
        self.assertFalse(set(environment) & set(secrets))
        self.assertEqual(environment["TESSERA_HOST"], "0.0.0.0")
        self.assertEqual(environment["TESSERA_DB_POOLING"], "transaction")
        self.assertEqual(environment["TESSERA_DB_PREPARED_STATEMENTS"], "off")
        for required in ("TESSERA_DATABASE_URL", "TESSERA_REPLICA_URLS", "TESSERA_ANALYTICS_URL", "TESSERA_REDIS_URL",
                         "TESSERA_ADMIN_TOKEN", "TESSERA_MASTER_KEY", "TESSERA_KEY_DATABASE_URL"):
            self.assertIn(required, secrets, f"{required} must come from Secrets Manager")
        for variable in environment:
            self.assertNotRegex(variable, r"URL|TOKEN|KEY|PASSWORD", f"{variable} is a secret: it belongs in Secrets Manager")

    def test_every_secret_reference_names_a_key_the_secret_has(self):
        t = tessera("prod")
        values = t.module.locals["secret_values"]
        app = t.child("app")
        for local in ("serve_secrets", "migrate_secrets", "bootstrap_secrets"):
            for variable, source in app.module.locals[local].items():
                match = re.fullmatch(r'\$\{var\.secret_arns\["(\w+)"\]\}:(\w+)::', source)
                self.assertIsNotNone(match, f"{local}.{variable}: {source}")
                role, key = match.groups()
                self.assertIn(key, values[role], f"{variable}: secret {role} has no key {key}")
        self.assertEqual(set(values), set(t.module.resources["aws_secretsmanager_secret", "this"]["for_each"]
                                          .removeprefix('${toset([').removesuffix('])}').replace('"', '').replace(' ', '').split(',')))
        self.assertEqual(values["app"]["username"], "${local.app_username}")
        self.assertEqual(t.module.locals["app_username"], "tessera_app")

    def test_task_definitions(self):
        app = tessera("prod").child("app")
        serve = app.resource("aws_ecs_task_definition", "serve")["container_definitions"]
        for fragment in ('command = ["serve", "--no-migrate"]', "local.serve_environment", "local.serve_secrets",
                         "/healthz", "stopTimeout = 120", "readonlyRootFilesystem = true"):
            self.assertIn(fragment, serve)
        migrate = app.resource("aws_ecs_task_definition", "migrate")["container_definitions"]
        self.assertIn('command = ["migrate"]', migrate)
        self.assertEqual(set(app.module.locals["migrate_secrets"]), {"TESSERA_DATABASE_URL"})
        self.assertIn('var.secret_arns["master"]', app.module.locals["migrate_secrets"]["TESSERA_DATABASE_URL"])
        target_group = app.resource("aws_lb_target_group", "serve")
        self.assertEqual(target_group["health_check"][0]["path"], "/healthz")
        service = app.resource("aws_ecs_service", "serve")
        self.assertEqual(service["launch_type"], "FARGATE")
        self.assertIs(service["network_configuration"][0]["assign_public_ip"], False)
        self.assertIs(service["deployment_circuit_breaker"][0]["rollback"], True)


class LayoutTests(unittest.TestCase):
    def read(self, *parts):
        with open(os.path.join(TERRAFORM, *parts), encoding="utf-8") as handle:
            return handle.read()

    def test_environments_are_a_var_file_and_a_state_key_of_the_one_root_module(self):
        self.assertEqual(sorted(os.listdir(os.path.join(TERRAFORM, "envs"))), sorted(EXPECTED))
        self.assertEqual(sorted(ENVIRONMENTS), sorted(EXPECTED))
        for name in ENVIRONMENTS:
            # No .tf in an environment's folder: its wiring is the root module's.
            self.assertEqual(sorted(os.listdir(os.path.join(TERRAFORM, "envs", name))), ["backend.hcl", "terraform.tfvars"])
            self.assertEqual(load(os.path.join(TERRAFORM, "envs", name, "backend.hcl")), {"key": f"tessera/{name}/terraform.tfstate"})
            self.assertEqual(env(name).var("environment"), name)
        # The backend is partial: the key comes from the environment, never from the root module.
        backend = load(os.path.join(TERRAFORM, "deployment", "backend.tf"))["terraform"][0]["backend"][0]["s3"]
        self.assertNotIn("key", backend)
        self.assertIs(backend["encrypt"], True)
        self.assertIs(backend["use_lockfile"], True)

    def test_every_variable_has_a_type_and_a_description_and_every_output_a_description(self):
        for module in every_module():
            where = os.path.relpath(module.path, ROOT)
            for name, body in module.variables.items():
                self.assertIn("type", body, f"{where}: variable {name}")
                self.assertTrue(body.get("description"), f"{where}: variable {name}")
            for name, body in module.outputs.items():
                self.assertTrue(body.get("description"), f"{where}: output {name}")

    def test_module_calls_pass_exactly_the_variables_modules_declare(self):
        for module in every_module():
            for call, body in module.modules.items():
                child = Module.at(os.path.join(module.path, body["source"]))
                given = set(body) - {"source", "depends_on", "providers", "count", "for_each"}
                where = f"{os.path.relpath(module.path, ROOT)}: module {call}"
                self.assertFalse(given - set(child.variables), f"{where} passes undeclared {sorted(given - set(child.variables))}")
                required = {n for n, v in child.variables.items() if "default" not in v}
                self.assertFalse(required - given, f"{where} misses {sorted(required - given)}")

    def test_each_environment_sets_every_variable_but_those_given_at_plan_time(self):
        at_plan_time = {"certificate_arn", "image_tag"}
        for name in ENVIRONMENTS:
            instance = env(name)
            required = {n for n, v in instance.module.variables.items() if "default" not in v}
            self.assertEqual(required - set(instance.tfvars), at_plan_time, name)
            self.assertFalse(set(instance.tfvars) - set(instance.module.variables), f"{name}: tfvars sets undeclared variables")

    def test_providers_are_pinned(self):
        for module in every_module():
            versions = os.path.join(module.path, "versions.tf")
            self.assertTrue(os.path.exists(versions), module.path)
            terraform = load(versions)["terraform"][0]
            self.assertEqual(terraform["required_providers"][0]["aws"]["version"], "~> 5.80", module.path)


class SuppressionTests(unittest.TestCase):
    SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")

    def test_every_suppressed_check_says_why(self):
        files = [os.path.join(ROOT, "Dockerfile")]
        for module in every_module():
            files += module.files
        seen = 0
        for path in files:
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    for check, reason in self.SKIP.findall(line):
                        seen += 1
                        self.assertRegex(check, r"^CKV2?_[A-Z]+_\d+$", f"{path}:{number}")
                        self.assertGreaterEqual(len(reason.strip()), 40, f"{path}:{number}: {check} without a reason")
        self.assertGreater(seen, 0)


if __name__ == "__main__":
    unittest.main()
