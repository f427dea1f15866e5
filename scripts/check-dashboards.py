#!/usr/bin/env python3
"""Checks the Grafana dashboards in ops/grafana/*.json without a Grafana.

For every dashboard:
  (a) it is a dashboard model Grafana's file provider loads: uid, title, schemaVersion,
      panels and templating.list; uids unique across the files; every panel with a unique
      id, a known type, a gridPos of ints inside the 24 columns, overlapping no other
      panel, a Prometheus datasource and targets with a refId and an expr (rows, collapsed
      or not, hold panels of their own);
  (b) every expr (and every label_values()/query_result() variable query) parses as
      PromQL: Grafana's variables are replaced by plain values ($__rate_interval → 1m,
      $instance → x, …), each expr becomes one recording rule of a temporary rules file
      and `promtool check rules` reads it; a failure names the dashboard, panel and refId;
  (c) the metric names the exprs select are collected (function names, keywords,
      aggregation operators, label names, strings and durations are not metric names;
      x_bucket, x_sum and x_count are names of their own).

  scripts/check-dashboards.py                 check, print a one-line summary
  scripts/check-dashboards.py --names         check, print the metric names (sorted, one a line)
  scripts/check-dashboards.py --known FILE    check, and fail naming each metric FILE lacks
                                              (FILE: one name a line; '#' lines, blank lines
                                              and anything after the name are ignored, so a
                                              /metrics scrape works too)

Exit status: 0 all good, 1 a check failed, 2 bad usage or promtool missing.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(ROOT, "ops", "grafana")

GRID_COLUMNS = 24
PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text", "row"}
# Panel types that show no query.
NO_QUERY_TYPES = {"text", "row"}

# Grafana's built-in variables, as PromQL sees them after interpolation.
BUILTIN_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1m",
    "__interval_ms": "60000",
    "__range_ms": "60000",
    "__range_s": "60",
}
PLAIN_VALUE = "x"
# $name, ${name}, ${name:format}, [[name]] (Grafana's three variable syntaxes).
VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]")

# PromQL words that are never metric names (matched case-insensitively, as PromQL does).
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = GROUPING | {"bool", "offset", "and", "or", "unless", "atan2"}
NUMBER_WORDS = {"inf", "nan"}

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![A-Za-z0-9_]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
""", re.VERBOSE)


class PromQLTokenError(Exception):
    pass


def tokenize(expr):
    tokens = []
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise PromQLTokenError(f"unexpected character {expr[pos]!r} at {pos + 1}")
        kind = m.lastgroup
        if kind not in ("space", "comment"):
            tokens.append((kind, m.group()))
        pos = m.end()
    return tokens


def unquote(text):
    if text.startswith("`"):
        return text[1:-1]
    try:
        return json.loads('"' + text[1:-1].replace('\\\'', "'") + '"')
    except ValueError:
        return text[1:-1]


def metric_names(expr):
    """The metric names an expr selects. Does not validate syntax: promtool does that."""
    tokens = tokenize(expr)
    names = set()
    i = 0
    braces = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, None)
        if kind == "op" and text == "{":
            braces += 1
        elif kind == "op" and text == "}":
            braces = max(0, braces - 1)
        elif kind == "op" and text == "[" and braces == 0:
            # A range or a subquery ([5m], [1h:1m], [$__rate_interval] once substituted): skip it.
            depth = 1
            i += 1
            while i < len(tokens) and depth:
                if tokens[i] == ("op", "["):
                    depth += 1
                elif tokens[i] == ("op", "]"):
                    depth -= 1
                i += 1
            continue
        elif kind == "ident" and braces:
            # A label name inside a selector; {__name__="x"} names metric x.
            if text == "__name__" and nxt == ("op", "=") and i + 2 < len(tokens) and tokens[i + 2][0] == "string":
                names.add(unquote(tokens[i + 2][1]))
        elif kind == "ident":
            word = text.lower()
            if word in GROUPING and nxt == ("op", "("):
                # by (...), on (...), group_left (...): a list of label names.
                depth = 0
                i += 1
                while i < len(tokens):
                    if tokens[i] == ("op", "("):
                        depth += 1
                    elif tokens[i] == ("op", ")"):
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
            elif word in KEYWORDS or word in AGGREGATORS or word in NUMBER_WORDS:
                pass
            elif nxt == ("op", "("):
                pass  # a function call
            else:
                names.add(text)
        i += 1
    return names


def substitute(expr, variables, problems, where):
    """Grafana's interpolation, with plain values; names variables the dashboard lacks."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_VARIABLES:
            return BUILTIN_VARIABLES[name]
        if name in variables:
            return "1m" if variables[name] == "interval" else PLAIN_VALUE
        if name.startswith("__"):
            return PLAIN_VALUE  # other built-ins ($__dashboard, $__org, …)
        problems.append(f"{where}: uses ${name}, which is not one of the dashboard's variables")
        return PLAIN_VALUE
    return VARIABLE.sub(repl, expr)


class Check:
    def __init__(self):
        self.problems = []
        self.exprs = []      # (where, promql after substitution)
        self.panel_count = 0
        self.dashboards = 0

    def fail(self, message):
        self.problems.append(message)

    # --- (a) the dashboard model ---------------------------------------------------------

    def dashboard(self, path, uids):
        name = os.path.relpath(path, ROOT) if path.startswith(ROOT) else path
        try:
            with open(path, encoding="utf-8") as f:
                model = json.load(f)
        except (OSError, ValueError) as e:
            self.fail(f"{name}: not readable JSON: {e}")
            return
        if not isinstance(model, dict):
            self.fail(f"{name}: the top level is not an object")
            return
        self.dashboards += 1
        if "dashboard" in model and "panels" not in model:
            self.fail(f"{name}: looks like an API envelope ({{\"dashboard\": …}}); the file provider wants the model itself")
            return
        if "__inputs" in model:
            self.fail(f"{name}: has __inputs (an export for sharing); provisioning does not resolve them, "
                      "use the DS_PROMETHEUS datasource variable")

        uid = model.get("uid")
        if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid or ""):
            self.fail(f"{name}: uid must be 1–40 characters of letters, digits, '-' and '_' (got {uid!r})")
        elif uid in uids:
            self.fail(f"{name}: uid {uid!r} is also the uid of {uids[uid]}")
        else:
            uids[uid] = name
        title = model.get("title")
        if not isinstance(title, str) or not title.strip():
            self.fail(f"{name}: title missing or empty")
        schema = model.get("schemaVersion")
        if not isinstance(schema, int) or isinstance(schema, bool):
            self.fail(f"{name}: schemaVersion must be an int (got {schema!r})")
        if model.get("id") not in (None,):
            self.fail(f"{name}: id must be null or absent in a provisioned dashboard (got {model.get('id')!r})")
        for key, kind in (("tags", list), ("time", dict)):
            if key in model and not isinstance(model[key], kind):
                self.fail(f"{name}: {key} must be a {kind.__name__}")
        if isinstance(model.get("time"), dict):
            for end in ("from", "to"):
                if not isinstance(model["time"].get(end), str):
                    self.fail(f"{name}: time.{end} must be a string")
        if "refresh" in model and not isinstance(model["refresh"], (str, bool)):
            self.fail(f"{name}: refresh must be a string such as \"30s\" (or false)")

        variables = self.templating(name, model)

        panels = model.get("panels")
        if not isinstance(panels, list):
            self.fail(f"{name}: panels must be a list")
            return
        ids = {}
        self.panels(name, panels, ids, variables, "panels")

    def templating(self, name, model):
        templating = model.get("templating")
        if not isinstance(templating, dict) or not isinstance(templating.get("list"), list):
            self.fail(f"{name}: templating.list must be a list")
            return {}
        variables = {}
        for n, var in enumerate(templating["list"]):
            if not isinstance(var, dict) or not isinstance(var.get("name"), str) or not isinstance(var.get("type"), str):
                self.fail(f"{name}: templating.list[{n}] needs a name and a type")
                continue
            if var["name"] in variables:
                self.fail(f"{name}: variable {var['name']!r} defined twice")
            variables[var["name"]] = var["type"]
        for var in templating["list"]:
            if not isinstance(var, dict) or var.get("type") != "query":
                continue
            query = var.get("query")
            if isinstance(query, dict):
                query = query.get("query")
            where = f"{name} variable {var.get('name')!r}"
            if not isinstance(query, str):
                self.fail(f"{where}: query must be a string or {{\"query\": string}}")
                continue
            self.variable_query(where, query.strip(), variables)
            self.datasource(where, var.get("datasource"), variables)
        ds = [v for v in templating["list"] if isinstance(v, dict) and v.get("type") == "datasource"]
        if not any(v.get("query") == "prometheus" for v in ds):
            self.fail(f"{name}: no datasource variable of query \"prometheus\" (DS_PROMETHEUS) in templating.list")
        return variables

    def variable_query(self, where, query, variables):
        # Grafana's Prometheus variable functions; only these two carry PromQL.
        m = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_]\w*)\s*\)", query, re.S)
        if m:
            self.add_expr(where, m.group(1), variables)
            return
        m = re.fullmatch(r"query_result\((.*)\)", query, re.S)
        if m:
            self.add_expr(where, m.group(1), variables)
            return
        if re.fullmatch(r"label_values\(\s*[A-Za-z_]\w*\s*\)|label_names\(\s*\)|metrics\(.*\)", query, re.S):
            return
        self.fail(f"{where}: query {query!r} is not label_values(), label_names(), metrics() or query_result()")

    def datasource(self, where, ds, variables):
        if isinstance(ds, dict):
            if ds.get("type") != "prometheus":
                self.fail(f"{where}: datasource type must be \"prometheus\" (got {ds.get('type')!r})")
            uid = ds.get("uid")
            if not isinstance(uid, str) or not uid:
                self.fail(f"{where}: datasource has no uid")
            else:
                m = VARIABLE.fullmatch(uid)
                if m and (m.group(1) or m.group(2) or m.group(3)) not in variables:
                    self.fail(f"{where}: datasource uid {uid} is not one of the dashboard's variables")
        elif isinstance(ds, str) and ds:
            pass  # the old style: a datasource name or ${VAR}
        else:
            self.fail(f"{where}: no datasource")

    def panels(self, name, panels, ids, variables, path):
        boxes = []
        for n, panel in enumerate(panels):
            where = f"{name} {path}[{n}]"
            if not isinstance(panel, dict):
                self.fail(f"{where}: not an object")
                continue
            pid = panel.get("id")
            title = panel.get("title", "")
            label = f"panel {pid} {title!r}"
            if isinstance(pid, int) and not isinstance(pid, bool):
                where = f"{name} {label}"
                if pid in ids:
                    self.fail(f"{where}: id {pid} is also the id of {ids[pid]!r}")
                ids[pid] = title
            else:
                self.fail(f"{where} {title!r}: id must be an int (got {pid!r})")
            ptype = panel.get("type")
            if ptype not in PANEL_TYPES:
                self.fail(f"{where}: type {ptype!r} is not one of {', '.join(sorted(PANEL_TYPES))}")
            self.panel_count += 1

            grid = panel.get("gridPos")
            keys = ("x", "y", "w", "h")
            if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) and not isinstance(grid.get(k), bool)
                                                     for k in keys):
                self.fail(f"{where}: gridPos must have int x, y, w and h (got {grid!r})")
            elif grid["x"] < 0 or grid["y"] < 0 or grid["w"] < 1 or grid["h"] < 1:
                self.fail(f"{where}: gridPos {grid} has a negative position or an empty size")
            elif grid["x"] + grid["w"] > GRID_COLUMNS:
                self.fail(f"{where}: gridPos x {grid['x']} + w {grid['w']} exceeds {GRID_COLUMNS} columns")
            else:
                for other, o in boxes:
                    if (grid["x"] < o["x"] + o["w"] and o["x"] < grid["x"] + grid["w"]
                            and grid["y"] < o["y"] + o["h"] and o["y"] < grid["y"] + grid["h"]):
                        self.fail(f"{where}: gridPos {grid} overlaps {other} at {o}")
                boxes.append((label, grid))

            if ptype == "row":
                inner = panel.get("panels", [])
                if not isinstance(inner, list):
                    self.fail(f"{where}: a row's panels must be a list")
                elif inner and not panel.get("collapsed"):
                    self.fail(f"{where}: an expanded row holds no panels (they follow it at the top level)")
                elif inner:
                    # A collapsed row keeps its panels, laid out as they will be once expanded.
                    self.panels(name, inner, ids, variables, f"{path}[{n}].panels")
                if grid and isinstance(grid, dict) and grid.get("w") != GRID_COLUMNS:
                    self.fail(f"{where}: a row spans all {GRID_COLUMNS} columns")
                continue
            if ptype in NO_QUERY_TYPES:
                continue

            self.datasource(where, panel.get("datasource"), variables)
            unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit") if isinstance(
                panel.get("fieldConfig"), dict) else None
            if unit is not None and not isinstance(unit, str):
                self.fail(f"{where}: fieldConfig.defaults.unit must be a string")
            targets = panel.get("targets")
            if not isinstance(targets, list) or not targets:
                self.fail(f"{where}: no targets")
                continue
            refids = set()
            for t, target in enumerate(targets):
                if not isinstance(target, dict):
                    self.fail(f"{where}: targets[{t}] is not an object")
                    continue
                ref = target.get("refId")
                twhere = f"{where} refId {ref}"
                if not isinstance(ref, str) or not ref:
                    self.fail(f"{where}: targets[{t}] has no refId")
                elif ref in refids:
                    self.fail(f"{where}: refId {ref} used twice")
                refids.add(ref)
                if "datasource" in target:
                    self.datasource(twhere, target["datasource"], variables)
                expr = target.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    self.fail(f"{twhere}: no expr")
                    continue
                self.add_expr(twhere, expr, variables)

    # --- (b) PromQL ----------------------------------------------------------------------

    def add_expr(self, where, expr, variables):
        self.exprs.append((where, substitute(expr, variables, self.problems, where)))

    def promtool(self, promtool):
        if not self.exprs:
            return
        with tempfile.TemporaryDirectory(prefix="check-dashboards-") as tmp:
            rules = os.path.join(tmp, "dashboard-exprs.yml")
            with open(rules, "w", encoding="utf-8") as f:
                f.write("groups:\n  - name: dashboard_check\n    rules:\n")
                for n, (where, expr) in enumerate(self.exprs, 1):
                    f.write(f"      # {where.replace(chr(10), ' ')}\n")
                    f.write(f"      - record: dashboard_check:{n}\n")
                    # A JSON string is a YAML double-quoted scalar.
                    f.write(f"        expr: {json.dumps(expr)}\n")
            run = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        if run.returncode == 0:
            return
        output = (run.stdout + run.stderr).strip()
        named = False
        for line in output.splitlines():
            m = re.search(r'"dashboard_check:(\d+)":\s*(.*)', line)
            if m and 1 <= int(m.group(1)) <= len(self.exprs):
                where, expr = self.exprs[int(m.group(1)) - 1]
                self.fail(f"{where}: PromQL does not parse: {m.group(2)}\n    expr: {expr}")
                named = True
        if not named:
            self.fail(f"promtool check rules failed:\n{output}")

    # --- (c) metric names ------------------------------------------------------------------

    def names(self):
        found = {}
        for where, expr in self.exprs:
            try:
                for name in metric_names(expr):
                    found.setdefault(name, where)
            except PromQLTokenError as e:
                self.fail(f"{where}: {e}\n    expr: {expr}")
        return found


def read_known(path):
    known = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
            if m:
                known.add(m.group())
    return known


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help=f"dashboard files or folders (default: {os.path.relpath(DEFAULT_DIR)})")
    parser.add_argument("--names", action="store_true", help="print the metric names the dashboards use, sorted")
    parser.add_argument("--known", metavar="FILE", help="fail on a metric name FILE does not list")
    parser.add_argument("--promtool", default=os.environ.get("PROMTOOL", "promtool"),
                        help="promtool to run (default: $PROMTOOL or promtool on PATH)")
    args = parser.parse_args()

    files = []
    for p in args.paths or [DEFAULT_DIR]:
        files.extend(sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p])
    if not files:
        print(f"check-dashboards: no dashboards (*.json) in {', '.join(args.paths or [DEFAULT_DIR])}", file=sys.stderr)
        return 2
    promtool = shutil.which(args.promtool)
    if not promtool:
        print(f"check-dashboards: promtool not found ({args.promtool}); install prometheus (Debian: "
              "apt-get install prometheus) or pass --promtool", file=sys.stderr)
        return 2
    known = None
    if args.known:
        try:
            known = read_known(args.known)
        except OSError as e:
            print(f"check-dashboards: {e}", file=sys.stderr)
            return 2

    check = Check()
    uids = {}
    for path in files:
        check.dashboard(os.path.abspath(path), uids)
    check.promtool(promtool)
    names = check.names()
    if known is not None:
        for name in sorted(set(names) - known):
            check.fail(f"{names[name]}: metric {name} is not in {args.known}")

    if check.problems:
        for problem in check.problems:
            print(problem, file=sys.stderr)
        print(f"check-dashboards: {len(check.problems)} problem(s) in {check.dashboards} dashboard(s)", file=sys.stderr)
        return 1
    if args.names:
        for name in sorted(names):
            print(name)
        return 0
    summary = (f"check-dashboards: {check.dashboards} dashboards, {check.panel_count} panels, "
               f"{len(check.exprs)} PromQL expressions parse, {len(names)} metric names")
    if known is not None:
        summary += f", all in {args.known}"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
