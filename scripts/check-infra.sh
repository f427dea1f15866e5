#!/usr/bin/env bash
# Checks the AWS deployment (infra/, issue 23) without Terraform or an AWS account:
#   1. every .tf and .tfvars under infra/terraform parses (python-hcl2);
#   2. checkov passes on infra/terraform and on the Dockerfile, each suppressed check
#      carrying its reason in the code;
#   3. the structural tests of infra/checks (the seed's deployment, item by item, per
#      environment; the Dockerfile; the cost estimate in infra/README.md).
# The Python tools live in two virtual environments under .venv/ (checkov brings a fork of
# python-hcl2 that installs the same module), made from the pinned requirements on first use
# and made again only when those change. Quiet on success (one line per step).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No __pycache__ folders in the tree.
export PYTHONDONTWRITEBYTECODE=1

checks=infra/checks

# venv NAME REQUIREMENTS: .venv/NAME with exactly REQUIREMENTS installed. A stamp holds the
# requirements' hash and the interpreter's version; while both match, nothing is done.
venv() {
    local dir=".venv/$1" requirements=$2 want have log
    want="$(sha256sum "$requirements" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
    have="$(cat "$dir/.requirements-stamp" 2>/dev/null || true)"
    [ "$want" = "$have" ] && [ -x "$dir/bin/python" ] && return 0
    rm -rf "$dir"
    log=$(mktemp)
    if ! { python3 -m venv "$dir" \
        && "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            --require-virtualenv -r "$requirements"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        rm -rf "$dir"
        echo "check-infra: could not make $dir from $requirements (python3-venv installed? PyPI reachable?)" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$want" >"$dir/.requirements-stamp"
}

venv infra-hcl2 "$checks/requirements-hcl2.txt"
venv infra-checkov "$checks/requirements-checkov.txt"

# 1. Parse.
.venv/infra-hcl2/bin/python "$checks/tfmodel.py"

# 2. checkov: offline (--skip-download: no Prisma Cloud look-ups), the summary on success,
#    every failed check on failure.
checkov() {
    local what=$1 scanned=$2 report
    shift 2
    report=$(mktemp)
    # checkov exits 1 when a check fails; the report decides below.
    .venv/infra-checkov/bin/checkov "$@" --compact --skip-download --output json >"$report" 2>/dev/null || true
    if ! .venv/infra-hcl2/bin/python - "$report" "$what" "$scanned" <<'PY'
import glob, json, os, re, sys
path, what, scanned = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with open(path) as handle:
        reports = json.load(handle)
except ValueError:
    print(f"check-infra: checkov did not report on {what}:", file=sys.stderr)
    print(open(path).read()[-4000:], file=sys.stderr)
    sys.exit(1)
reports = reports if isinstance(reports, list) else [reports]
passed = failed = skipped = 0
for report in reports:
    summary = report.get("summary", {})
    passed += summary.get("passed", 0)
    failed += summary.get("failed", 0)
    skipped += summary.get("skipped", 0)
    for check in report.get("results", {}).get("failed_checks", []):
        print(f"  {check['check_id']} {check['check_name']}\n    {check['resource']} "
              f"({check['file_path']}:{check['file_line_range'][0]})", file=sys.stderr)
if passed == 0:
    print(f"check-infra: checkov ran no check on {what}", file=sys.stderr)
    sys.exit(1)
# A suppression that suppresses nothing misleads its reader: every one must be used.
files = glob.glob(os.path.join(scanned, "**", "*.tf"), recursive=True) if os.path.isdir(scanned) else [scanned]
declared = {m for f in files for m in re.findall(r"checkov:skip=(CKV2?_[A-Z]+_[0-9]+)", open(f).read())}
used = {c["check_id"] for r in reports for c in r.get("results", {}).get("skipped_checks", [])}
if declared - used:
    print(f"check-infra: checkov skips in {what} that skip nothing (remove them): {', '.join(sorted(declared - used))}", file=sys.stderr)
    failed += 1
line = f"checkov on {what}: {passed} passed, {failed} failed, {skipped} skipped" + (" (each with its reason in the code)" if skipped else "")
print(("check-infra: " if failed == 0 else "check-infra: FAILED ") + line, file=sys.stdout if failed == 0 else sys.stderr)
sys.exit(1 if failed else 0)
PY
    then
        rm -f "$report"
        exit 1
    fi
    rm -f "$report"
}
checkov "infra/terraform" infra/terraform -d infra/terraform --framework terraform
checkov "the Dockerfile" Dockerfile -f Dockerfile --framework dockerfile

# 3. The structural tests.
log=$(mktemp)
if ! (cd "$checks" && ../../.venv/infra-hcl2/bin/python -m unittest discover -p 'test_*.py') >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "check-infra: the structural tests of $checks failed" >&2
    exit 1
fi
echo "check-infra: $(grep -E '^Ran [0-9]+ tests' "$log" | sed 's/^Ran //; s/ in .*//') of $checks passed (terraform, Dockerfile, cost)"
rm -f "$log"
