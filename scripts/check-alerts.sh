#!/usr/bin/env bash
# Checks the Prometheus alert rules and runs their unit tests (issue 19, item 4):
#   promtool check rules ops/prometheus/alerts.yml
#   promtool test rules  ops/prometheus/alerts_test.yml
# Quiet on success (one summary line); on failure prints promtool's output and exits non-zero.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v promtool >/dev/null 2>&1; then
    echo "check-alerts: promtool not found (Debian: apt-get install prometheus)" >&2
    exit 1
fi

rules=ops/prometheus/alerts.yml
tests=ops/prometheus/alerts_test.yml

if ! out=$(promtool check rules "$rules" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "check-alerts: promtool check rules $rules failed" >&2
    exit 1
fi
count=$(printf '%s\n' "$out" | sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p')

if ! out=$(promtool test rules "$tests" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "check-alerts: promtool test rules $tests failed" >&2
    exit 1
fi

echo "check-alerts: ${count:-?} alert rules valid, unit tests of $tests passed"
