#!/usr/bin/env bash
# Installs the system packages Tessera needs when they are missing (Debian/Ubuntu).
# Idempotent and quiet when everything is there; used by `make run` and `make test`.
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/lib/postgresql/15/bin/psql ] || need+=(postgresql-client-15)
# pgaudit: the local cluster logs every DDL statement and role change with it.
[ -f /usr/lib/postgresql/15/lib/pgaudit.so ] || need+=(postgresql-15-pgaudit)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
# Redis 7 for the cache (the local cluster starts it; the cache tests need it). The
# package's own service is disabled below: `tessera cluster up` runs its own redis-server.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# InfluxDB 1.x (Debian 12: 1.6.7), the peer `tessera-bench all` compares against; the
# benchmark starts its own influxd, so the package's service is disabled below too.
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
# The monitoring stack (README: Operating Tessera): Prometheus with promtool (alert-rule
# and dashboard tests), the PostgreSQL, node and Redis exporters, and pgbouncer in front of
# the primary. `tessera cluster up --monitoring` runs its own of each; the packages' own
# services are disabled below.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-postgres-exporter >/dev/null 2>&1 || need+=(prometheus-postgres-exporter)
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
command -v prometheus-redis-exporter >/dev/null 2>&1 || need+=(prometheus-redis-exporter)
[ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
# Data lifecycle (README: Data lifecycle and backups): pgBackRest archives the local
# cluster's WAL and takes its backups; pg_partman and pg_cron keep the partitions.
command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
[ -f /usr/share/postgresql/15/extension/pg_partman.control ] || need+=(postgresql-15-partman)
[ -f /usr/lib/postgresql/15/lib/pg_cron.so ] || need+=(postgresql-15-cron)
# High availability (README: High availability): `tessera cluster up --ha` runs three nodes under
# Patroni with a local etcd as its store; their packaged services are disabled below.
command -v patroni >/dev/null 2>&1 || need+=(patroni)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# curl: the tests send `Expect: 100-continue` requests with it, as users do.
command -v curl >/dev/null 2>&1 || need+=(curl)
# python3: make lint's check that every target declares the products it imports.
command -v python3 >/dev/null 2>&1 || need+=(python3)
# python3-venv: make infra-check installs python-hcl2 and checkov into .venv/ (Debian's
# python3 lacks ensurepip, hence venv, without it).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "Missing packages (${need[*]}) and no sudo to install them." >&2; exit 1; }
    sudo="sudo"
fi

echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
# Debian starts a system-wide redis (6379) and influxdb (8086) after installing them;
# Tessera does not use them (it runs its own), so stop and disable the ones we installed.
for service in redis-server influxdb prometheus prometheus-postgres-exporter prometheus-node-exporter \
    prometheus-redis-exporter pgbouncer etcd-server patroni; do
    if [[ " ${need[*]} " == *" $service "* ]]; then
        unit="$service"
        [ "$service" = etcd-server ] && unit=etcd
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
        elif [ -x "/etc/init.d/$unit" ]; then
            $sudo "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
        fi
    fi
done
