#!/usr/bin/env bash
# observability.sh: the Prometheus rules and the Grafana dashboard shipped
# in deploy/ are valid and speak of metrics nwdd exports.
#
#   - "promtool check rules deploy/prometheus/nwd-rules.yml" passes, and
#     "promtool test rules tests/data/nwd-rules-test.yml" fires each alert
#     from synthetic series (and none on healthy ones);
#   - deploy/grafana/nwd-dashboard.json is valid JSON, every panel has a
#     unique id and at least one query, and every metric name in its
#     queries (panels and template variables) and in the rules' exprs is
#     one that daemon/metrics.c registers (a histogram's _bucket, _sum and
#     _count included; the rules may also use Prometheus's own "up").
#
# Needs python3 (deploy/test.sh installs it) and promtool (Debian package
# prometheus, installed by deploy/test.sh).  Without promtool the test
# fails unless NWD_SKIP_PROMTOOL=1 says to go on without it: then the rules
# are not run through promtool and, if everything else passes, the test
# reports itself skipped (77).  NWD_SRCDIR (default: this script's tree)
# names the sources.  Writes nothing.  Exit status: 0 pass, 1 fail (every
# problem is listed), 77 skip as above.
set -euo pipefail

prog=observability.sh
: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
rules=$NWD_SRCDIR/deploy/prometheus/nwd-rules.yml
rules_test=$NWD_SRCDIR/tests/data/nwd-rules-test.yml
dashboard=$NWD_SRCDIR/deploy/grafana/nwd-dashboard.json
metrics_c=$NWD_SRCDIR/daemon/metrics.c

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

command -v python3 >/dev/null || {
	echo "$prog: python3 is not installed (apt-get install python3)" >&2
	exit 1
}

# --- promtool -------------------------------------------------------------------

skipped=0
if command -v promtool >/dev/null; then
	promtool check rules "$rules" || problem "promtool check rules $rules failed"
	# promtool reads the rule files relative to the test file.
	(cd "$(dirname "$rules_test")" && promtool test rules "$(basename "$rules_test")") ||
	    problem "promtool test rules $rules_test failed"
elif [ "${NWD_SKIP_PROMTOOL:-0}" = 1 ]; then
	echo "$prog: promtool is not installed and NWD_SKIP_PROMTOOL=1: the rules are NOT checked by promtool"
	skipped=1
else
	problem "promtool is not installed (apt-get install prometheus), so $rules cannot be checked; NWD_SKIP_PROMTOOL=1 skips that part"
fi

# --- metric names ---------------------------------------------------------------

python3 - "$metrics_c" "$dashboard" "$rules" <<'PY' || problems=$((problems + 1))
import json, re, sys

prog = "observability.sh"
metrics_c, dashboard, rules = sys.argv[1:4]
bad = 0

def problem(msg):
    global bad
    print(f"{prog}: {msg}", file=sys.stderr)
    bad += 1

# The families metrics_init() registers: metrics_family_new(m, TYPE, "name".
src = open(metrics_c).read()
known = set()
for kind, name in re.findall(
        r'metrics_family_new\(\s*m\s*,\s*METRICS_(\w+)\s*,\s*"([A-Za-z_:][A-Za-z0-9_:]*)"', src):
    known.add(name)
    if kind == "HISTOGRAM":
        known.update(name + s for s in ("_bucket", "_sum", "_count"))
if len(known) < 20:
    problem(f"found only {len(known)} metric names in {metrics_c}: has the way it registers them changed?")

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2"}

def names(expr):
    """The metric names a PromQL expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r'\{[^}]*\}', '', e)                        # label matchers
    e = re.sub(r'\[[^\]]*\]', '', e)                       # ranges
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    e = re.sub(r'\$\w+', ' ', e)                           # Grafana variables
    out = set()
    for m in re.finditer(r'(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?', e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        out.add(word)
    return out

def check(where, expr, allowed):
    found = names(expr)
    if not found:
        problem(f"{where}: no metric name in {expr!r}")
    for n in sorted(found - allowed):
        problem(f"{where}: {n} is not a metric nwdd exports (daemon/metrics.c): {expr!r}")

# The dashboard.
try:
    d = json.load(open(dashboard))
except (OSError, ValueError) as e:
    problem(f"{dashboard}: not valid JSON: {e}")
    sys.exit(1)

def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))

ids = set()
nqueries = 0
for p in panels(d.get("panels", [])):
    pid = p.get("id")
    if pid in ids:
        problem(f"{dashboard}: panel id {pid} used twice")
    ids.add(pid)
    if p.get("type") == "row":
        continue
    targets = p.get("targets", [])
    if not targets:
        problem(f"{dashboard}: panel {p.get('title')!r} has no query")
    for t in targets:
        nqueries += 1
        check(f"{dashboard}: panel {p.get('title')!r}", t.get("expr", ""), known)
for v in d.get("templating", {}).get("list", []):
    if v.get("type") != "query":
        continue
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    m = re.fullmatch(r'\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*\w+\s*\)\s*', q)
    if m:
        q = m.group(1)
    check(f"{dashboard}: variable {v.get('name')!r}", q, known)
if nqueries < 10:
    problem(f"{dashboard}: only {nqueries} queries found")

# The rules' expressions (a plain scan: no YAML library needed).
nrules = 0
for line in open(rules):
    m = re.match(r'\s*expr:\s*(.*?)\s*$', line)
    if m:
        nrules += 1
        check(f"{rules}: rule", m.group(1), known | {"up"})
if nrules == 0:
    problem(f"{rules}: no expr found")

print(f"{prog}: {len(known)} metric names in metrics.c; {nqueries} dashboard queries and {nrules} rules checked")
sys.exit(1 if bad else 0)
PY

if [ "$problems" -ne 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
[ "$skipped" = 0 ] || exit 77
echo "$prog: ok"
