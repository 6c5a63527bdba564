#!/usr/bin/env bash
# bench.sh [BUILDDIR]: benchmark nwdd on this machine, then clean up.
#
# Sets up a world of its own in a temporary directory, as tests/run-test.sh
# does: a throwaway PostgreSQL (deploy/pg.sh, synchronous_commit on), a PKI
# (deploy/gen-pki.sh), an nwdd configuration with max_connections above the
# idle-session count, the shipped principals less the two test identities
# whose certificates are revoked or expired (so a RiskAlert's fan-out is
# 5), "nwdd --migrate", nwdd started with --ready-fd, and the bench subject
# allocated by case-system.  Then it runs
# tests/bench/bench_broker (from BUILDDIR, default build/ of this tree):
#
#   flat    flat out, 1 KB RiskAlerts, 5 subscribers (fan-out 5)
#   rate    a steady 2,000 publishes/s, same shape
#   idle    10,000 idle mutual-TLS sessions: the daemon's RSS
#   copy    the COPY ceiling: the daemon's own audit rows, COPYed by one
#           connection into a scratch table of the same shape
#
# each for a bounded time (after each traffic run it prints the WAL a publish
# cost, from pg_stat_wal, and the store's histograms from /metrics) and, by
# default, each in a world of its own (the
# COPY ceiling in the flat-out run's world): a run in a world that earlier
# runs used inherits the autovacuum and writeback of the rows they added,
# which moved its figures by up to 40% (BENCHMARKS.md, session 4).  It
# prints a summary against the targets of issue 4 and removes everything it
# made (nwdd stopped, PostgreSQL destroyed).
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [20]        measured seconds of each traffic and idle run
#   BENCH_WARMUP [15]         warm-up seconds before each traffic window: the
#                             first seconds of load on a new world carry
#                             COMMITs of 50-80 ms (BENCHMARKS.md)
#   BENCH_PUBLISHERS [64]     publisher sessions flat out
#   BENCH_RATE [2000]         publishes/s of the steady run
#   BENCH_RATE_PUBLISHERS [64] publisher sessions of the steady run
#   BENCH_SUBSCRIBERS [5]     subscriber sessions (one per receiving principal)
#   BENCH_BODY [1024]         RiskAlert summary bytes
#   BENCH_IDLE [10000]        idle sessions
#   BENCH_COPY_SECONDS [10]   seconds of each COPY measurement
#   BENCH_LOG_LEVEL [info]    nwdd's log_level (info logs every delivery)
#   BENCH_PG_TUNE [1]         0: PostgreSQL with initdb's defaults (see below)
#   BENCH_PG_SET [unset]      more PostgreSQL settings with BENCH_PG_TUNE=1,
#                             space-separated name=value, e.g.
#                             "log_min_duration_statement=8 log_line_prefix=%m_[%p]_"
#   BENCH_DIRTY_BACKGROUND_BYTES [unset]  sets vm.dirty_background_bytes
#                             for the run (restored after; needs root): the
#                             kernel then writes dirty pages back as they
#                             come, not in a burst 30 s later that stalls
#                             WAL flushes (README: a database server's
#                             settings); unset leaves the kernel alone
#   BENCH_WAL_WARM_MB [3500]  MB of WAL written and checkpointed before the
#                             runs, so that PostgreSQL reuses segments as a
#                             server that has been running does (0: cold)
#   BENCH_ACK [0]             1: subscribers acknowledge every delivery (an
#                             ack is one more audit row)
#   BENCH_ONLY ["flat rate idle copy"]  which measurements to run
#   BENCH_WORLD [each]        each: a world per measurement (copy with flat);
#                             shared: all of them in one world, in the order
#                             above (quicker; the figures interfere)
#   BENCH_PERF [0]            1: perf record the whole machine during the
#                             flat-out and steady windows and print where
#                             time goes
#   BENCH_KEEP [0]            1: keep the temporary directory (logs, perf)
#   BENCH_HISTORY [0]         audit rows already in the database before
#                             nwdd starts (another instance's chain, six
#                             rows a message, message ids of version 7 from
#                             the past, bodies purged), then a CHECKPOINT:
#                             a database that has been in use, whose index
#                             pages a new row may touch first since the
#                             checkpoint (a full-page image in the WAL)
#   BENCH_HOLD [0]            seconds to keep nwdd and PostgreSQL up after
#                             the runs (for bench_broker runs by hand; the
#                             commands to use are printed)
#   BENCH_REPEAT [1]          run everything N times (each time as above)
#   BENCH_AGAINST [unset]     another build directory, run in alternation
#                             with BUILDDIR, the order swapped every round
#                             (A B, B A, A B, ...) so that neither always
#                             follows the other; with BENCH_REPEAT, the
#                             figure of every round of each build and their
#                             median come last.  The runs of one build on
#                             this machine spread wider than most changes
#                             move them (BENCHMARKS.md, session 7).
#   BENCH_TMPROOT [$TMPDIR or /tmp]
#
# Exit status: 0 if every run completed (targets met or not), 1 otherwise.
set -euo pipefail

prog=bench.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m -- "${1:-$root/build}")
pgsh=$root/deploy/pg.sh
nwdd=$build/daemon/nwdd
bench=$build/tests/bench/bench_broker

SECONDS_RUN=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-15}
PUBLISHERS=${BENCH_PUBLISHERS:-64}
RATE=${BENCH_RATE:-2000}
RATE_PUBLISHERS=${BENCH_RATE_PUBLISHERS:-64}
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-5}
BODY=${BENCH_BODY:-1024}
IDLE=${BENCH_IDLE:-10000}
COPY_SECONDS=${BENCH_COPY_SECONDS:-10}
WAL_WARM_MB=${BENCH_WAL_WARM_MB:-3500}
PG_TUNE=${BENCH_PG_TUNE:-1}
PG_SET=${BENCH_PG_SET:-}
DIRTY_BYTES=${BENCH_DIRTY_BACKGROUND_BYTES:-}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
ONLY=${BENCH_ONLY:-flat rate idle copy}
PERF=${BENCH_PERF:-0}
KEEP=${BENCH_KEEP:-0}
HOLD=${BENCH_HOLD:-0}
HISTORY=${BENCH_HISTORY:-0}
[[ $HISTORY =~ ^[0-9]+$ ]] || { echo "bench.sh: BENCH_HISTORY is a number of rows" >&2; exit 2; }
ACK=${BENCH_ACK:-0}
WORLD=${BENCH_WORLD:-each}
case $WORLD in each | shared) ;; *) echo "$prog: BENCH_WORLD is each or shared" >&2; exit 2 ;; esac

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
wants() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

[ -x "$nwdd" ] || die "$nwdd is missing: build first (make -C $build)"
[ -x "$bench" ] || die "$bench is missing: build first (make -C $build)"

# Every session of the idle run is a descriptor in nwdd and in the bench.
need_fds=$((IDLE + 256))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need_fds" ]; then
	die "ulimit -Hn is $hard; $IDLE idle sessions need $need_fds (raise the hard limit, or set BENCH_IDLE)"
fi
ulimit -n "$need_fds"

# ---- summary -------------------------------------------------------------------

# val MODE KEY: a value from the RESULT line of that mode.
val() {
	awk -v m="mode=$1" -v k="$2" '$2 == m {
	    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$results"
}
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
	if (a == "") { print "not run"; exit }
	ok = (op == ">=") ? a + 0 >= b + 0 : a + 0 < b + 0
	printf "%s: %s (target %s %s; %.0f%% of it)", ok ? "MET" : "MISSED", a, op, b,
	    b + 0 != 0 ? 100 * a / b : 0 }'; }

# summary: the figures of $results against the targets.
summary() {
	step "summary (targets of issue 4; $(nproc) cores, PostgreSQL on the same box)"
	if wants flat; then
		printf 'flat out:  %s publishes/s, %s deliveries/s (fan-out %s), %s audit rows/s; p99 %s ms; nwdd %s%% pg %s%% bench %s%% CPU\n' \
		    "$(val flat pubs_per_s)" "$(val flat deliveries_per_s)" "$(val flat fanout)" \
		    "$(val flat audit_rows_per_s)" "$(val flat p99_ms)" "$(val flat nwdd_cpu)" \
		    "$(val flat pg_cpu)" "$(val flat bench_cpu)"
		printf '  target >= 20000 audited deliveries/s: %s\n' \
		    "$(verdict "$(val flat deliveries_per_s)" '>=' 20000)"
	fi
	if wants rate; then
		printf 'steady:    %s publishes/s, p50 %s ms, p99 %s ms, p99.9 %s ms (from the due time: p99 %s ms)\n' \
		    "$(val rate pubs_per_s)" "$(val rate p50_ms)" "$(val rate p99_ms)" \
		    "$(val rate p999_ms)" "$(val rate sched_p99_ms)"
		printf '  target p99 < 10 ms at %s/s: %s\n' "$RATE" \
		    "$(verdict "$(val rate p99_ms)" '<' 10)"
		awk -v a="$(val rate pubs_per_s)" -v r="$RATE" 'BEGIN { if (a < 0.98 * r)
		    printf "  (the rate was not sustained: %s of %s publishes/s acked; see due->deliver)\n", a, r }'
	fi
	if wants idle; then
		rss_mb=$(awk -v k="$(val idle rss_kb)" 'BEGIN { if (k != "") printf "%.0f", k / 1024 }')
		printf 'idle:      %s sessions, nwdd RSS %s MB (%s kB per session)\n' \
		    "$(val idle connected)" "$rss_mb" "$(val idle per_session_kb)"
		printf '  target RSS < 300 MB with %s sessions: %s\n' "$IDLE" \
		    "$(verdict "$rss_mb" '<' 300)"
	fi
	if wants copy; then
		printf 'ceiling:   COPY %s rows/s (%s with the chain-link trigger)\n' \
		    "$(val copy copy_rows_per_s)" "$(val copy copy_trigger_rows_per_s)"
		if wants flat; then
			awk -v d="$(val flat audit_rows_per_s)" -v c="$(val copy copy_rows_per_s)" \
			    'BEGIN { if (d > 0 && c > 0) printf "  nwdd audit rows/s over the COPY ceiling: %.1f%%\n", 100 * d / c }'
		fi
	fi
}

# ---- rounds: repeats, and another build in alternation ------------------------

REPEAT=${BENCH_REPEAT:-1}
AGAINST=${BENCH_AGAINST:-}
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "$prog: BENCH_REPEAT is a number of rounds" >&2; exit 2; }

# rounds_summary FILE: per build and measurement, each round's headline
# figure and their median (FILE: RESULT lines with build= and round=).
rounds_summary() {
	step "rounds: each build's headline figures, round by round, and the median"
	awk 'function key(m) {
	        if (m == "flat") return "deliveries_per_s"
	        if (m == "rate") return "p99_ms"
	        if (m == "idle") return "rss_kb"
	        if (m == "copy") return "copy_rows_per_s"
	        return "" }
	    { delete f
	      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      k = key(f["mode"]); if (k == "") next
	      id = f["build"] " " f["mode"] " " k
	      if (!(id in n)) order[++nid] = id
	      v[id, ++n[id]] = f[k] + 0 }
	    END { for (j = 1; j <= nid; j++) {
	        id = order[j]; c = n[id]
	        for (a = 1; a <= c; a++) w[a] = v[id, a]
	        for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++)
	            if (w[b] < w[a]) { t = w[a]; w[a] = w[b]; w[b] = t }
	        med = c % 2 ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
	        line = ""
	        for (a = 1; a <= c; a++) line = line " " v[id, a]
	        printf "%s:%s; median %g\n", id, line, med } }' "$1"
}

if [ "$REPEAT" -gt 1 ] || [ -n "$AGAINST" ]; then
	builds=("$build")
	[ -n "$AGAINST" ] && builds+=("$(realpath -m -- "$AGAINST")")
	for b in "${builds[@]}"; do
		[ -x "$b/daemon/nwdd" ] && [ -x "$b/tests/bench/bench_broker" ] ||
		    { echo "$prog: $b has no nwdd or bench_broker: build first" >&2; exit 2; }
	done
	tmproot=${BENCH_TMPROOT:-${TMPDIR:-/tmp}}
	mkdir -p "$tmproot"
	rounds=$(mktemp "$tmproot/nwd-bench-rounds.XXXXXX")
	trap 'rm -f -- "$rounds" "$rounds.out"' EXIT
	rc=0
	for ((i = 1; i <= REPEAT; i++)); do
		order=("${builds[@]}")
		if [ "${#builds[@]}" -eq 2 ] && [ $((i % 2)) -eq 0 ]; then
			order=("${builds[1]}" "${builds[0]}")
		fi
		for b in "${order[@]}"; do
			step "round $i of $REPEAT: $b"
			BENCH_REPEAT=1 BENCH_AGAINST= "$0" "$b" | tee "$rounds.out" ||
			    rc=1
			grep '^RESULT ' "$rounds.out" |
			    sed "s|^RESULT |RESULT build=$b round=$i |" >>"$rounds" ||
			    rc=1
		done
	done
	rounds_summary "$rounds"
	exit "$rc"
fi

# ---- a world for each measurement ---------------------------------------------

# With BENCH_WORLD=each (the default) and more than one measurement, each
# runs in a world of its own: this script again, once per measurement, then
# one summary of all.  The COPY ceiling shares the flat-out run's world, so
# that its row templates are that run's rows.
if [ "$WORLD" = each ]; then
	groups=()
	if wants flat; then
		if wants copy; then groups+=("flat copy"); else groups+=(flat); fi
	fi
	wants rate && groups+=(rate)
	wants idle && groups+=(idle)
	if wants copy && ! wants flat; then groups+=(copy); fi
	if [ "${#groups[@]}" -gt 1 ]; then
		tmproot=${BENCH_TMPROOT:-${TMPDIR:-/tmp}}
		mkdir -p "$tmproot"
		results=$(mktemp "$tmproot/nwd-bench-results.XXXXXX")
		trap 'rm -f -- "$results" "$results.out"' EXIT
		rc=0
		for g in "${groups[@]}"; do
			step "a world of its own for: $g"
			BENCH_ONLY=$g BENCH_WORLD=shared "$0" "$build" |
			    tee "$results.out" || rc=1
			grep '^RESULT ' "$results.out" >>"$results" || rc=1
		done
		summary
		exit "$rc"
	fi
fi

tmproot=${BENCH_TMPROOT:-${TMPDIR:-/tmp}}
mkdir -p "$tmproot"
tmp=$(mktemp -d "$tmproot/nwd-bench.XXXXXX")
pgdir=$tmp/pg
pki=$tmp/pki
conf=$tmp/nwdd.conf
log=$tmp/nwdd.log
results=$tmp/results
nwdd_pid=
perf_pid=

dirty_saved=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$dirty_saved" ]; then
		# Restores whichever of the pair was in force (the other is 0).
		read -r dbytes dratio <<<"$dirty_saved"
		if [ "$dbytes" -gt 0 ]; then
			sysctl -q -w vm.dirty_background_bytes="$dbytes" || rc=1
		else
			sysctl -q -w vm.dirty_background_ratio="$dratio" || rc=1
		fi
	fi
	if [ -n "$perf_pid" ] && kill -0 "$perf_pid" 2>/dev/null; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
	fi
	if [ -n "$nwdd_pid" ] && kill -0 "$nwdd_pid" 2>/dev/null; then
		kill -TERM "$nwdd_pid" 2>/dev/null || true
		for _ in $(seq 1 300); do
			kill -0 "$nwdd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$nwdd_pid" 2>/dev/null && kill -KILL "$nwdd_pid" 2>/dev/null
		wait "$nwdd_pid" 2>/dev/null || true
	fi
	if [ -f "$pgdir/data/PG_VERSION" ]; then
		[ "$KEEP" = 1 ] && cp "$pgdir/postgres.log" "$tmp/" 2>/dev/null
		"$pgsh" destroy "$pgdir" || rc=1
	fi
	if [ "$KEEP" = 1 ]; then
		printf '%s: kept %s\n' "$prog" "$tmp" >&2
	else
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- the world -----------------------------------------------------------------

if [ -n "$DIRTY_BYTES" ]; then
	dirty_saved="$(cat /proc/sys/vm/dirty_background_bytes) $(cat /proc/sys/vm/dirty_background_ratio)"
	sysctl -q -w vm.dirty_background_bytes="$DIRTY_BYTES" ||
	    die "cannot set vm.dirty_background_bytes (BENCH_DIRTY_BACKGROUND_BYTES)"
fi

step "PostgreSQL (deploy/pg.sh) and PKI (deploy/gen-pki.sh) in $tmp"
pgport=
for _ in 1 2 3 4 5; do
	p=$("$pgsh" freeport) || die "no free port for PostgreSQL"
	rc=0
	"$pgsh" init "$pgdir" "$p" 2>"$tmp/pg-init.err" || rc=$?
	if [ $rc -eq 0 ]; then
		pgport=$p
		break
	fi
	cat "$tmp/pg-init.err" >&2
	[ $rc -eq 3 ] || die "could not start PostgreSQL (pg.sh init exited $rc)"
	"$pgsh" destroy "$pgdir" >&2 || true
done
[ -n "$pgport" ] || die "no free port for PostgreSQL"

# PostgreSQL as on a server set up and running for nwd (README, "Running in
# production"), not a fresh cluster with initdb's defaults:
#   - shared_buffers 25% of memory (at most 4GB): with initdb's 128MB the
#     backends evict dirty pages of the growing audit table themselves and
#     the kernel writes them back ~30 s later in bursts that stall WAL
#     fdatasync (commits of 100-300 ms seen here);
#   - min_wal_size 4GB, max_wal_size 8GB, and BENCH_WAL_WARM_MB of WAL
#     written and checkpointed away first: a new cluster creates and
#     zero-fills a 16 MB WAL segment every few hundred publishes (the
#     backend that needs one stalls 10-50 ms), where a running server
#     recycles old segments.
# BENCH_PG_TUNE=0 measures initdb's defaults instead.
if [ "$PG_TUNE" = 1 ]; then
	mem_mb=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
	sb_mb=$((mem_mb / 4))
	[ "$sb_mb" -gt 4096 ] && sb_mb=4096
	step "PostgreSQL: shared_buffers ${sb_mb}MB, min_wal_size 4GB, max_wal_size 8GB; ${WAL_WARM_MB} MB of WAL written and recycled"
	"$pgsh" psql "$pgdir" postgres -X -q -A -t \
	    -c "ALTER SYSTEM SET shared_buffers = '${sb_mb}MB'" \
	    -c "ALTER SYSTEM SET min_wal_size = '4GB'" \
	    -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
	    -c "ALTER SYSTEM SET log_autovacuum_min_duration = 0" \
	    >/dev/null || die "could not set PostgreSQL's parameters"
	# Split on blanks only (no globbing); a name is a parameter name, a
	# value goes in as a string literal, its quotes doubled.
	read -r -a pg_set <<<"$PG_SET"
	for kv in ${pg_set[@]+"${pg_set[@]}"}; do
		name=${kv%%=*} value=${kv#*=}
		[[ $kv == *=* && $name =~ ^[a-z_][a-z0-9_.]*$ ]] ||
		    die "BENCH_PG_SET: \"$kv\" is not name=value"
		"$pgsh" psql "$pgdir" postgres -X -q -A -t \
		    -c "ALTER SYSTEM SET $name = '${value//\'/\'\'}'" >/dev/null ||
		    die "could not set PostgreSQL's $kv (BENCH_PG_SET)"
	done
	"$pgsh" stop "$pgdir" fast >/dev/null && "$pgsh" start "$pgdir" >/dev/null ||
	    die "could not restart PostgreSQL with the new parameters"
	if [ "$WAL_WARM_MB" -gt 0 ]; then
		"$pgsh" psql "$pgdir" postgres -X -q -A -t \
		    -c "CREATE TABLE bench_wal_warm AS SELECT repeat('x', 1000) AS x
			FROM generate_series(1, $WAL_WARM_MB * 1000)" \
		    -c "DROP TABLE bench_wal_warm" -c "CHECKPOINT" -c "CHECKPOINT" \
		    >/dev/null || die "could not warm PostgreSQL's WAL"
		echo "pg_wal: $(find "$pgdir/data/pg_wal" -maxdepth 1 -type f -name '0*' | wc -l) segments ready"
	fi
fi
"$root/deploy/gen-pki.sh" "$pki" || die "could not generate the PKI"
pgpid=$(head -n 1 "$pgdir/data/postmaster.pid")

nwdport=$("$pgsh" freeport) || die "no free port for nwdd"
metricsport=$("$pgsh" freeport) || die "no free port for nwdd's metrics"
max_conn=$((IDLE + 1000))
umask 077
# The shipped principals less the two test identities (revoked-rob,
# exp-eve: hub keyworkers whose certificates are revoked or expired): they
# would make a RiskAlert's fan-out 7, five online and two queued, where
# the targets are set at fan-out 5.
awk '$2 != "revoked-rob" && $2 != "exp-eve"' "$root/deploy/principals.conf" \
    >"$tmp/principals.conf"
cat >"$conf" <<EOF
# written by deploy/bench.sh
instance = nwdd-bench
user = root
max_connections_per_principal = 0
listen = 127.0.0.1:$nwdport
tls_cert = $pki/server.crt
tls_key = $pki/server.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
body_key = $pki/body.key
audit_signing_key = $pki/audit-signing.key
principals = $tmp/principals.conf
policy = $root/deploy/policy.nwd
database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_daemon connect_timeout=5
migrate_database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_owner connect_timeout=5
migrations = $root/deploy/sql
log_level = $LOG_LEVEL
max_connections = $max_conn
metrics_listen = 127.0.0.1:$metricsport
state_directory = $tmp/state
EOF

step "nwdd --migrate, then nwdd on 127.0.0.1:$nwdport (log: $log)"
"$nwdd" --migrate -c "$conf" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "nwdd --migrate failed"; }
if [ "$HISTORY" -gt 0 ]; then
	step "history: $HISTORY audit rows and $((HISTORY / 6)) purged messages of instance nwdd-history, then CHECKPOINT"
	# As the owner, in one statement each; the chain is well formed (the
	# chain-link trigger checks it), its hashes are not the canonical ones
	# (nwd audit verify would name the first row: not a bench concern).
	"$pgsh" psql "$pgdir" postgres -X -q -v ON_ERROR_STOP=1 \
	    -c "SET ROLE nwd_owner" \
	    -c "INSERT INTO nwd.messages (id, kind, subject, sender, agency,
		marking, priority, legal_basis, created_at, policy_version,
		instance, body, key_id, purged_at)
		SELECT (lpad(to_hex(t), 12, '0') || '7' ||
		    substr(md5(m::text), 1, 3) || '8' ||
		    substr(md5(m::text), 4, 15))::uuid, 3,
		    'YP-H' || (m % 5000), 'plo-ana', 'police', 1, 2, 1,
		    timestamptz 'epoch' + t * interval '1 millisecond',
		    'sha256:history', 'nwdd-history', NULL, NULL,
		    timestamptz 'epoch' + t * interval '1 millisecond'
		FROM generate_series(1, $HISTORY / 6) m,
		    LATERAL (SELECT (extract(epoch FROM now() - interval '400 days')
			* 1000)::bigint + m * 10 AS t) x" \
	    -c "INSERT INTO nwd.audit_events (instance, at, actor, action,
		message_id, subject, kind, recipient, fields_shared,
		fields_withheld, rule, policy_version, reason, peer, session,
		seq, prev_hash, hash)
		SELECT 'nwdd-history', m.created_at, 'plo-ana',
		    CASE WHEN g % 6 = 0 THEN 'publish' ELSE 'deliver' END,
		    m.id, m.subject, 3,
		    CASE WHEN g % 6 <> 0 THEN (ARRAY['hub:norwich',
			'hub:dereham', 'sw:north', 'camhs:central',
			'camhs:west'])[g % 6] END,
		    CASE WHEN g % 6 <> 0 THEN ARRAY['summary', 'risk'] END,
		    NULL, 'risk-alerts', 'sha256:history', NULL,
		    '127.0.0.1:40000', 'history', g + 1,
		    CASE WHEN g = 0 THEN '\\x$(printf '0%.0s' {1..64})'::bytea
			ELSE sha256(g::text::bytea) END,
		    sha256((g + 1)::text::bytea)
		FROM generate_series(0, $HISTORY - 1) g
		JOIN (SELECT id, subject, created_at,
			row_number() OVER (ORDER BY created_at) - 1 AS k
		    FROM nwd.messages WHERE instance = 'nwdd-history') m
		    ON m.k = g / 6" \
	    -c "RESET ROLE" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null ||
	    die "could not write the history (BENCH_HISTORY)"
fi

mkfifo "$tmp/ready"
"$nwdd" -c "$conf" --ready-fd 3 3>"$tmp/ready" </dev/null >>"$log" 2>&1 &
nwdd_pid=$!
ready=
read -r -t 30 ready <"$tmp/ready" || true
if [ "$ready" != READY ]; then
	tail -n 30 "$log" >&2
	die "nwdd did not report READY within 30 s"
fi
echo "nwdd pid $nwdd_pid ready; PostgreSQL 127.0.0.1:$pgport (postmaster $pgpid)"

common=(--server "127.0.0.1:$nwdport" --pki "$pki")
"$bench" "${common[@]}" --allocate || die "could not allocate the bench subject"

psql_q() { "$pgsh" psql "$pgdir" postgres -X -q -A -t -c "$1"; }

# ---- the machine ---------------------------------------------------------------

step "machine"
{
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel: $(uname -r); vm.dirty_background_bytes=$(cat /proc/sys/vm/dirty_background_bytes) vm.dirty_background_ratio=$(cat /proc/sys/vm/dirty_background_ratio) vm.dirty_expire_centisecs=$(cat /proc/sys/vm/dirty_expire_centisecs)"
	echo "postgresql: $(psql_q 'SHOW server_version')" \
	    "synchronous_commit=$(psql_q 'SHOW synchronous_commit')" \
	    "fsync=$(psql_q 'SHOW fsync')" \
	    "wal_sync_method=$(psql_q 'SHOW wal_sync_method')" \
	    "shared_buffers=$(psql_q 'SHOW shared_buffers')" \
	    "min_wal_size=$(psql_q 'SHOW min_wal_size')" \
	    "max_wal_size=$(psql_q 'SHOW max_wal_size')"
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$tmp/machine"

# The store's histograms from nwdd's /metrics (name, then "le count" lines).
scrape() {
	curl -s --max-time 5 "http://127.0.0.1:$metricsport/metrics" |
	    awk '/^nwd_(store_commit_seconds|store_wait_seconds|store_txn_batches|store_txn_audit_rows|publish_seconds)_bucket/ {
		split($1, a, "[{}\"]"); sub("_bucket", "", a[1])
		print a[1], a[3], $2 }' || true
}

# What the run did to the store: each histogram's count in the window
# between two scrapes, with its median and p99 bucket bounds.
store_report() { # BEFORE AFTER
	command -v curl >/dev/null || return 0
	echo "-- the store during the run (nwdd /metrics; bucket upper bounds):"
	awk 'NR == FNR { b[$1 " " $2] = $3; next }
	    { n = $1; d[n, ++k[n]] = $2; c[n, k[n]] = $3 - b[$1 " " $2] }
	    END { for (n in k) {
		t = c[n, k[n]]; if (t <= 0) continue
		p50 = p99 = ""
		for (i = 1; i <= k[n]; i++) {
			if (p50 == "" && c[n, i] >= 0.5 * t) p50 = d[n, i]
			if (p99 == "" && c[n, i] >= 0.99 * t) p99 = d[n, i]
		}
		printf "   %-26s %8d transactions, median <= %s, p99 <= %s\n", n, t, p50, p99 } }' \
	    "$1" "$2" | sort
}

# What PostgreSQL wrote to its WAL: records, full-page images, bytes, and
# the messages stored, as one line (pg_stat_wal is cluster-wide; nothing
# else writes to this cluster during a run).
wal_snap() {
	psql_q "SELECT w.wal_records, w.wal_fpi, w.wal_bytes,
	    (SELECT count(*) FROM nwd.messages) FROM pg_stat_wal w" | tr '|' ' '
}

# wal_report BEFORE AFTER: the WAL a publish cost over the whole run
# (warm-up and window): each full-page image is a page first touched since
# the last checkpoint, copied whole into the WAL.
wal_report() {
	read -r r0 f0 b0 m0 <<<"$1"
	read -r r1 f1 b1 m1 <<<"$2"
	awk -v r="$((r1 - r0))" -v f="$((f1 - f0))" -v b="$((b1 - b0))" 	    -v m="$((m1 - m0))" 'BEGIN { if (m <= 0) exit
		printf "-- WAL over the run (pg_stat_wal): %d publishes; a publish: %.1f records, %.2f full-page images, %.0f bytes; %.0f MB in all\n",
		    m, r / m, f / m, b / m, b / 1048576 }'
}

run() {
	local name=$1 wal0=
	shift
	step "$name: $(basename "$bench") $*"
	command -v curl >/dev/null && scrape >"$tmp/$name.metrics0"
	[ "$name" != copy ] && [ "$name" != idle ] && wal0=$(wal_snap)
	"$bench" "$@" | tee "$tmp/$name.out"
	grep '^RESULT ' "$tmp/$name.out" >>"$results" ||
	    die "$name: bench_broker printed no RESULT"
	[ -n "$wal0" ] && wal_report "$wal0" "$(wal_snap)"
	if [ "$name" != copy ] && [ "$name" != idle ] &&
	    command -v curl >/dev/null; then
		scrape >"$tmp/$name.metrics1"
		store_report "$tmp/$name.metrics0" "$tmp/$name.metrics1"
	fi
}

db="host=127.0.0.1 port=$pgport dbname=nwd user=nwd_auditor"
traffic=(--subscribers "$SUBSCRIBERS" --body "$BODY" --seconds "$SECONDS_RUN"
    --warmup "$WARMUP" --pid "$nwdd_pid" --pg-pid "$pgpid" --db "$db")
[ "$ACK" = 1 ] && traffic+=(--ack)
: >"$results"

# perf_start / perf_report MODE: the whole machine during the measured
# window only, with BENCH_PERF=1.
perf_start() {
	[ "$PERF" = 1 ] && command -v perf >/dev/null || return 0
	( sleep "$WARMUP"; exec perf record -q -a -g -F 499 \
	    -o "$tmp/perf.data" -- sleep "$SECONDS_RUN" ) \
	    >"$tmp/perf.log" 2>&1 &
	perf_pid=$!
}
perf_top() { # perf report options...; never fails the run
	perf report -i "$tmp/perf.data" --stdio --no-children \
	    -g none "$@" 2>/dev/null | grep -v -e '^#' -e '^$' |
	    head -n 25 || true
}
perf_report() {
	local pg_pids
	[ -n "$perf_pid" ] || return 0
	wait "$perf_pid" || true
	perf_pid=
	step "perf: where the machine's time went during the $1 window"
	# Our cluster only: other PostgreSQL instances may run here.
	pg_pids=$(pgrep -d, -P "$pgpid" || true)
	pg_pids=$pgpid${pg_pids:+,$pg_pids}
	perf_top --sort comm --percent-limit 1 | tee "$tmp/perf-$1-comm.txt"
	echo "-- nwdd (pid $nwdd_pid), by symbol (self time, % of all samples):"
	perf_top --pid "$nwdd_pid" --sort dso,sym --percent-limit 0.3 |
	    tee "$tmp/perf-$1-nwdd.txt"
	echo "-- our PostgreSQL ($pg_pids), by symbol (self time, % of all samples):"
	perf_top --pid "$pg_pids" --sort sym --percent-limit 0.5 |
	    tee "$tmp/perf-$1-pg.txt"
	echo "-- postgres, inclusive (children), the executor's parts:"
	perf report -i "$tmp/perf.data" --stdio --children -g none \
	    --pid "$pg_pids" --sort sym 2>/dev/null |
	    grep -E '\] (PostgresMain|ExecConstraints|stringToNode|ExecInsertIndexTuples|ExecBRInsertTriggers|plpgsql_exec_trigger|standard_ExecutorStart|XLogFlush|XLogInsert|heap_insert|exec_bind_message|CommitTransactionCommand)$' |
	    tee "$tmp/perf-$1-pg-incl.txt" || true
}

if wants flat; then
	perf_start
	run flat "${common[@]}" --publishers "$PUBLISHERS" "${traffic[@]}"
	perf_report flat
	echo "-- audit rows in the store, by action:"
	psql_q "SELECT action, count(*) FROM nwd.audit_events GROUP BY 1 ORDER BY 2 DESC"
fi

if wants rate; then
	sleep 2
	perf_start
	run rate "${common[@]}" --publishers "$RATE_PUBLISHERS" --rate "$RATE" \
	    "${traffic[@]}"
	perf_report rate
fi

if wants idle; then
	sleep 2
	run idle "${common[@]}" --idle-sessions "$IDLE" \
	    --seconds "$SECONDS_RUN" --pid "$nwdd_pid"
fi

if wants copy; then
	run copy --copy-ceiling "host=127.0.0.1 port=$pgport dbname=nwd user=nwd_owner" \
	    --seconds "$COPY_SECONDS"
fi

kill -0 "$nwdd_pid" 2>/dev/null || die "nwdd is no longer running (see $log)"

summary

if [ "$HOLD" -gt 0 ]; then
	step "holding the world for $HOLD s; for example:"
	echo "  $bench ${common[*]} --pid $nwdd_pid --pg-pid $pgpid --db '$db'"
	echo "  $pgsh psql $pgdir postgres"
	sleep "$HOLD" || true
fi
