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
#   cross   (not in the default list) a steady BENCH_CROSS_RATE publishes/s,
#           same shape: with several instances (BENCH_INSTANCES), the
#           publish->deliver p50/p99 of deliveries whose publisher's
#           session is on the subscriber's instance (same instance) and of
#           those another instance announced (cross-instance), from the
#           instance each session's Welcome names
#   idle    10,000 idle mutual-TLS sessions: the daemon's RSS
#   copy    the COPY ceiling: the daemon's own audit rows, COPYed by one
#           connection into a scratch table of the same shape
#   backlog a durable backlog: BENCH_BACKLOG 1 KB RiskAlerts queued for a
#           durable subscription of hubsys-norwich while it is away
#           (published flat out by BENCH_PUBLISHERS sessions), then
#           replayed to one session of it: messages/s of the replay,
#           nwdd's peak RSS during it, every message once and in order
#   deadlines (not in the default list; BENCH_ONLY=deadlines) issue 17's
#           statutory clocks: BENCH_DEADLINES RiskAlerts about 100 young
#           people allocated to hub:norwich, BENCH_BREACHING of them URGENT
#           (15 minutes) and the rest HIGH (60 minutes), never
#           acknowledged; then nwdd's wall clock (test_clock, set in this
#           world only) moved on 16 minutes, so that the URGENT ones breach
#           at once, with the duty desk subscribed to escalations: the
#           time to the last escalation, escalations/s, and the steady
#           publish->ack p99 at BENCH_DEADLINE_RATE while they fire beside
#           the same window with none open and with all open but none due;
#           every escalation once, none about a HIGH alert
#   mosquitto (not in the default list; BENCH_ONLY=mosquitto, alone) the
#           peer of issue 20: Debian's Mosquitto beside nwd in the same
#           invocation, in alternation (nwd, Mosquitto, nwd, Mosquitto,
#           ...; BENCH_MOSQ_ROUNDS rounds, each fan-out of
#           BENCH_MOSQ_FANOUTS in turn).  nwd's turn is flat and rate
#           above, each in a world of its own, with BENCH_FANOUT
#           recipients; Mosquitto's flat and rate each a world of its own
#           too (a publisher can outrun Mosquitto's deliveries, and its
#           queues would still be draining): a PKI from
#           deploy/gen-pki.sh, mosquitto on a loopback port as a user
#           that is not root (TLS 1.3 only, client certificates required,
#           the certificate's CN as the user name, set_tcp_nodelay, no
#           persistence, max_queued_messages 0 so that a slow subscriber
#           loses nothing), then tests/bench/bench_mosq flat out and at
#           BENCH_RATE with the same publishers, subscribers (one per
#           identity), bodies, warm-up and window, QoS 1.  Prints each
#           round's deliveries/s and publish->deliver p50/p99 of both,
#           and the ratios nwd / Mosquitto of each round and their
#           median: deliveries/s flat out at each fan-out (nwd's every
#           one audited) and the p99 at BENCH_RATE
#   scale   (not in the default list; BENCH_ONLY=scale, alone) issue 20's
#           several instances: for each number in BENCH_INSTANCES (here
#           a list, default "1 2 3"), flat, rate and cross with that many
#           nwdd (each in a world of its own, as below), then one table:
#           per configuration and run, deliveries/s, publish->deliver
#           p50/p99, the CPU per audited delivery (every nwdd's and
#           PostgreSQL's CPU over the window, per delivery received; each
#           delivery is an audit row), HAProxy's CPU beside it, the load
#           average at the start; and the cross-instance p99 beside the
#           same-instance one at BENCH_CROSS_RATE against issue 20's
#           target (cross adds under 2 ms)
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
#                             ack is one more audit row); the backlog's
#                             subscriber too (nwd_ack_nowait)
#   BENCH_BACKLOG [100000]    RiskAlerts in the durable backlog
#   BENCH_BACKLOG_TRACE [0]   1: nwdd at log_level debug and PostgreSQL's
#                             statement log (durations, no parameters) during
#                             the replay only; then where each page of the
#                             replay spent its time, phase by phase (the
#                             logging slows the replay: its figures are not
#                             the untraced ones; without BENCH_ACK, whose
#                             INSERTs the trace cannot tell from a page's)
#   BENCH_DEADLINES [10000]   deadlines open (RiskAlerts published)
#   BENCH_BREACHING [1000]    of them URGENT: breached by the clock's move
#   BENCH_DEADLINE_RATE [200] steady publishes/s during the deadlines runs
#   BENCH_DEADLINE_SECONDS [10]  each steady window of the deadlines run
#                             (and at least this long after the move)
#   BENCH_DEADLINES_TRACE [0] 1: PostgreSQL's statement log (durations, no
#                             parameters) from the clock's move to the
#                             last escalation, then nwdd's statements of
#                             that time by kind: count and milliseconds
#                             (the logging slows them)
#   BENCH_ONLY ["flat rate idle copy backlog"]  which measurements to run
#                             (and cross and deadlines, which are not in
#                             the default; scale and mosquitto run alone)
#   BENCH_INSTANCES [1]       nwdd instances on the one PostgreSQL: above
#                             1, instance 1 as always and instances 2..N
#                             (nwdd-bench-2, ...) with the same
#                             configuration but their own instance name,
#                             listen and metrics ports, state directory
#                             and log (nwdd-N.log), then Debian's haproxy
#                             in front (BENCH_HAPROXY), its configuration
#                             made from deploy/haproxy.cfg as
#                             tests/integration/test_haproxy.c makes it
#                             (TCP, leastconn, a /healthz check on each
#                             metrics port; haproxy.cfg in the world's
#                             directory), started when every instance is
#                             READY and used when HAProxy's stats page
#                             shows each UP with its check passed.  The
#                             bench subject is allocated through
#                             instance 1, and bench_broker connects every
#                             session to HAProxy, which spreads
#                             publishers and subscribers over the
#                             instances (leastconn: the sessions by
#                             instance are printed); its CPU figure for
#                             nwdd is every instance's, summed, and
#                             HAProxy's is printed beside it; /metrics
#                             histograms are summed over the instances.
#                             With flat, rate, cross and copy only (idle
#                             and backlog read one daemon's memory,
#                             deadlines move one daemon's clock).  With
#                             BENCH_ONLY=mosquitto, nwd's turns run with
#                             it.  With BENCH_ONLY=scale, a list ["1 2 3"]
#   BENCH_CROSS_RATE [500]    publishes/s of the cross run (issue 20's
#                             target is set at 500)
#   BENCH_HAPROXY [haproxy on PATH, or /usr/sbin/haproxy]
#   BENCH_PG_STATEMENTS [0]   1: pg_stat_statements loaded (needs
#                             BENCH_PG_TUNE=1 and postgresql-contrib), and
#                             after each traffic run PostgreSQL's
#                             execution time by statement over it: calls
#                             and microseconds per publish, all instances'
#                             (what each publish costs the one database)
#   BENCH_STATE_TMPFS [0]     1: nwdd's state_directory on /dev/shm, so that
#                             the anchor's flush of its state file before
#                             each audit transaction costs nothing (what
#                             that flush costs is the difference; never
#                             so in production)
#   BENCH_WORLD [each]        each: a world per measurement (copy with flat);
#                             shared: all of them in one world, in the order
#                             above (quicker; the figures interfere; with
#                             deadlines, nwdd runs on the test clock, and
#                             the clock's move comes last)
#   BENCH_PERF [0]            1: perf record the whole machine during the
#                             flat-out and steady windows (cross too), the backlog's
#                             replay and the deadlines' escalations (and
#                             nwdd alone with DWARF call graphs during
#                             those), and print where time goes
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
#                             move them (BENCHMARKS.md, session 7).  Each
#                             build runs with its own source tree's
#                             migrations, policy, calendar and principals
#                             (abs_top_srcdir in its Makefile), so an older
#                             tree whose schema differs can be compared
#   BENCH_BROKER [BUILDDIR/tests/bench/bench_broker]  the bench program,
#                             for every build (with BENCH_AGAINST: one bench
#                             for a build whose own predates a measurement)
#   BENCH_FANOUT [5]          recipients of each RiskAlert, one subscriber
#                             session each (BENCH_SUBSCRIBERS is then the
#                             same): above 5, hub:norwich keyworkers
#                             kw-bench-1... (OFFICIAL, as keyworker-kim),
#                             each with a certificate of the world's CA,
#                             so that every delivery is to a recipient of
#                             its own and has its audit row
#   BENCH_MOSQ_ROUNDS [3]     rounds of the mosquitto mode
#   BENCH_MOSQ_FANOUTS ["5 10"]  its fan-outs
#   BENCH_MOSQ [BUILDDIR/tests/bench/bench_mosq]  its load generator
#                             (built when configure found libmosquitto)
#   BENCH_MOSQUITTO [mosquitto on PATH, or /usr/sbin/mosquitto]
#   BENCH_TMPROOT [$TMPDIR or /tmp]
#
# Exit status: 0 if every run completed (targets met or not), 1 otherwise.
set -euo pipefail

prog=bench.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m -- "${1:-$root/build}")
pgsh=$root/deploy/pg.sh
nwdd=$build/daemon/nwdd
bench=${BENCH_BROKER:-$build/tests/bench/bench_broker}
# The world a build runs in (migrations, policy, calendar, principals) is
# its own source tree's, so that BENCH_AGAINST can compare a build of an
# older tree whose schema differs; the tree this script is in otherwise.
world=$(sed -n 's/^abs_top_srcdir = //p' "$build/Makefile" 2>/dev/null || true)
[ -n "$world" ] && [ -d "$world/deploy/sql" ] || world=$root

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
ONLY=${BENCH_ONLY:-flat rate idle copy backlog}
BACKLOG=${BENCH_BACKLOG:-100000}
[[ $BACKLOG =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: BENCH_BACKLOG is a number of messages" >&2; exit 2; }
DEADLINES=${BENCH_DEADLINES:-10000}
BREACHING=${BENCH_BREACHING:-1000}
DEADLINE_RATE=${BENCH_DEADLINE_RATE:-200}
DEADLINE_SECONDS=${BENCH_DEADLINE_SECONDS:-10}
DL_TRACE=${BENCH_DEADLINES_TRACE:-0}
for v in DEADLINES BREACHING DEADLINE_RATE DEADLINE_SECONDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: BENCH_$v is a positive number" >&2; exit 2; }
done
TRACE=${BENCH_BACKLOG_TRACE:-0}
PERF=${BENCH_PERF:-0}
PG_STATEMENTS=${BENCH_PG_STATEMENTS:-0}
[ "$PG_STATEMENTS" = 0 ] || [ "$PG_STATEMENTS" = 1 ] && { [ "$PG_STATEMENTS" = 0 ] || [ "$PG_TUNE" = 1 ]; } ||
    { echo "bench.sh: BENCH_PG_STATEMENTS is 0 or 1, and 1 needs BENCH_PG_TUNE=1" >&2; exit 2; }
KEEP=${BENCH_KEEP:-0}
HOLD=${BENCH_HOLD:-0}
HISTORY=${BENCH_HISTORY:-0}
[[ $HISTORY =~ ^[0-9]+$ ]] || { echo "bench.sh: BENCH_HISTORY is a number of rows" >&2; exit 2; }
ACK=${BENCH_ACK:-0}
STATE_TMPFS=${BENCH_STATE_TMPFS:-0}
case $STATE_TMPFS in 0 | 1) ;; *) echo "$prog: BENCH_STATE_TMPFS is 0 or 1" >&2; exit 2 ;; esac
WORLD=${BENCH_WORLD:-each}
case $WORLD in each | shared) ;; *) echo "$prog: BENCH_WORLD is each or shared" >&2; exit 2 ;; esac
FANOUT=${BENCH_FANOUT:-5}
[[ $FANOUT =~ ^[0-9]+$ ]] && [ "$FANOUT" -ge 5 ] && [ "$FANOUT" -le 64 ] ||
    { echo "$prog: BENCH_FANOUT is a number of recipients from 5 to 64" >&2; exit 2; }
[ "$FANOUT" -gt 5 ] && SUBSCRIBERS=$FANOUT
MOSQ_ROUNDS=${BENCH_MOSQ_ROUNDS:-3}
[[ $MOSQ_ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "$prog: BENCH_MOSQ_ROUNDS is a number of rounds" >&2; exit 2; }
MOSQ_FANOUTS=${BENCH_MOSQ_FANOUTS:-5 10}
for f in $MOSQ_FANOUTS; do
	[[ $f =~ ^[0-9]+$ ]] && [ "$f" -ge 5 ] && [ "$f" -le 64 ] ||
	    { echo "$prog: BENCH_MOSQ_FANOUTS: $f is not a fan-out from 5 to 64" >&2; exit 2; }
done
mosq_gen=${BENCH_MOSQ:-$build/tests/bench/bench_mosq}
mosquitto_bin=${BENCH_MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
CROSS_RATE=${BENCH_CROSS_RATE:-500}
[[ $CROSS_RATE =~ ^[1-9][0-9]*$ ]] || { echo "$prog: BENCH_CROSS_RATE is a number of publishes/s" >&2; exit 2; }
haproxy_bin=${BENCH_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
# BENCH_INSTANCES: one number for a world (N nwdd behind HAProxy); a list
# for the scale mode, which runs a world for each.
case " $ONLY " in
*" scale "*)
	[ "$(echo $ONLY)" = scale ] ||
	    { echo "$prog: BENCH_ONLY=scale runs alone (it runs flat, rate and cross itself), not with \"$ONLY\"" >&2; exit 2; }
	INSTANCES_LIST=${BENCH_INSTANCES:-1 2 3}
	INSTANCES=1 ;;
*)
	INSTANCES_LIST=
	INSTANCES=${BENCH_INSTANCES:-1} ;;
esac
for n in $INSTANCES_LIST $INSTANCES; do
	[[ $n =~ ^[1-9]$ ]] ||
	    { echo "$prog: BENCH_INSTANCES: \"$n\" is not a number of instances from 1 to 9 (a list only with BENCH_ONLY=scale)" >&2; exit 2; }
done

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
wants() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
if [ "$INSTANCES" -gt 1 ]; then
	# idle and backlog read one daemon's memory; deadlines move one
	# daemon's clock.  (mosquitto passes BENCH_INSTANCES on to its nwd
	# turns.)
	for m in idle backlog deadlines; do
		wants "$m" &&
		    die "BENCH_INSTANCES=$INSTANCES: $m measures one nwdd; run it with BENCH_INSTANCES=1 (several: flat rate cross copy)"
	done
	[ -x "$haproxy_bin" ] || [ "${BENCH_PEER:-}" = mosquitto ] ||
	    die "haproxy is missing ($haproxy_bin): apt-get install haproxy (or set BENCH_HAPROXY)"
	command -v curl >/dev/null ||
	    die "curl is missing: BENCH_INSTANCES above 1 reads HAProxy's stats page with it"
fi
# The trace reads nwdd's debug lines (a page's query, its deliveries).
[ "$TRACE" = 1 ] && wants backlog && LOG_LEVEL=debug

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

# cpu_per_delivery MODE: microseconds of CPU of every nwdd and PostgreSQL
# over the window, per delivery received (each one audited).
cpu_per_delivery() {
	awk -v n="$(val "$1" nwdd_cpu)" -v p="$(val "$1" pg_cpu)" \
	    -v d="$(val "$1" deliveries_per_s)" -v h="$(val "$1" lb_cpu)" 'BEGIN {
		if (d + 0 <= 0 || n == "" || n < 0 || p < 0) { printf "-"; exit }
		printf "%.0f us of CPU per audited delivery (nwdd %s%% + PostgreSQL %s%% of a core over %s deliveries/s)", (n + p) * 1e4 / d, n, p, d
		if (h != "" && h >= 0) printf "; HAProxy %s%% more", h }'
}

# summary: the figures of $results against the targets.
summary() {
	step "summary (targets of issue 4; $(nproc) cores, PostgreSQL on the same box; $INSTANCES instance$([ "$INSTANCES" -gt 1 ] && echo "s behind HAProxy"))"
	if wants flat; then
		printf 'flat out:  %s publishes/s, %s deliveries/s (fan-out %s), %s audit rows/s; p99 %s ms; nwdd %s%% pg %s%% bench %s%% CPU\n' \
		    "$(val flat pubs_per_s)" "$(val flat deliveries_per_s)" "$(val flat fanout)" \
		    "$(val flat audit_rows_per_s)" "$(val flat p99_ms)" "$(val flat nwdd_cpu)" \
		    "$(val flat pg_cpu)" "$(val flat bench_cpu)"
		printf '  target >= 20000 audited deliveries/s: %s\n' \
		    "$(verdict "$(val flat deliveries_per_s)" '>=' 20000)"
		printf '  %s\n' "$(cpu_per_delivery flat)"
	fi
	if wants rate; then
		printf 'steady:    %s publishes/s, p50 %s ms, p99 %s ms, p99.9 %s ms (from the due time: p99 %s ms)\n' \
		    "$(val rate pubs_per_s)" "$(val rate p50_ms)" "$(val rate p99_ms)" \
		    "$(val rate p999_ms)" "$(val rate sched_p99_ms)"
		printf '  target p99 < 10 ms at %s/s: %s\n' "$RATE" \
		    "$(verdict "$(val rate p99_ms)" '<' 10)"
		awk -v a="$(val rate pubs_per_s)" -v r="$RATE" 'BEGIN { if (a < 0.98 * r)
		    printf "  (the rate was not sustained: %s of %s publishes/s acked; see due->deliver)\n", a, r }'
		printf '  %s\n' "$(cpu_per_delivery rate)"
	fi
	if wants cross; then
		printf 'cross:     %s publishes/s, publish->deliver p50 %s ms, p99 %s ms; same instance p99 %s ms (%s deliveries), cross-instance p99 %s ms (%s)\n' \
		    "$(val cross pubs_per_s)" "$(val cross p50_ms)" "$(val cross p99_ms)" \
		    "$(val cross same_p99_ms)" "$(val cross same_n)" \
		    "$(val cross cross_p99_ms)" "$(val cross cross_n)"
		printf '  target cross-instance p99 - same-instance p99 < 2 ms at %s/s: %s\n' "$CROSS_RATE" \
		    "$(awk -v s="$(val cross same_p99_ms)" -v c="$(val cross cross_p99_ms)" -v n="$(val cross cross_n)" 'BEGIN {
			if (n + 0 <= 0) { print "not measured (one instance: no delivery crossed)"; exit }
			printf "%s: %.2f ms", (c - s < 2) ? "MET" : "MISSED", c - s }')"
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
	if wants backlog; then
		peak_mb=$(awk -v k="$(val backlog peak_rss_kb)" 'BEGIN { if (k != "" && k >= 0) printf "%.1f", k / 1024 }')
		printf 'backlog:   %s of %s RiskAlerts replayed to one session in %s s: %s messages/s; nwdd peak RSS %s MB (%s MB before); complete=%s in_order=%s (queue order %s); acks %s\n' \
		    "$(val backlog received)" "$(val backlog messages)" \
		    "$(val backlog seconds)" "$(val backlog per_s)" "$peak_mb" \
		    "$(awk -v k="$(val backlog rss_before_kb)" 'BEGIN { if (k != "") printf "%.1f", k / 1024 }')" \
		    "$(val backlog complete)" "$(val backlog in_order)" \
		    "$(val backlog queue_order)" \
		    "$(case $(val backlog ack) in 1) echo "sent for each" ;; 0) echo none ;; *) echo "?" ;; esac)"
		printf '  target >= 20000 messages/s: %s\n' \
		    "$(verdict "$(val backlog per_s)" '>=' 20000)"
		printf '  target peak RSS < 64 MB: %s\n' "$(verdict "$peak_mb" '<' 64)"
		ok=$(awk -v c="$(val backlog complete)" -v o="$(val backlog in_order)" \
		    'BEGIN { print (c == "") ? "" : (c == 1 && o == 1) }')
		printf '  target complete and in order: %s\n' \
		    "$(case $ok in 1) echo MET ;; 0) echo MISSED ;; *) echo "not run" ;; esac)"
	fi
	if wants deadlines; then
		printf 'deadlines: %s open, %s URGENT breached by a 16-minute clock move: the duty desk got %s escalations in %s s (%s/s; the first after %s ms); the %sth escalated audit row after %s s; each once, none about a HIGH alert: %s\n' \
		    "$(val deadlines open)" "$(val deadlines breaching)" \
		    "$(val deadlines received)" "$(val deadlines seconds)" \
		    "$(val deadlines per_s)" "$(val deadlines first_ms)" \
		    "$(val deadlines breaching)" "$(val deadlines db_seconds)" \
		    "$(case $(val deadlines complete) in 1) echo yes ;; 0) echo NO ;; *) echo "?" ;; esac)"
		printf '  steady publish->ack at %s/s, p50 / p99 / p99.9 ms (and p99 from the due time): while they fired %s / %s / %s (%s) over %s publishes; %s s from the move p99 %s (%s); all open, none due %s / %s / %s (%s); none open %s / %s / %s (%s)\n' \
		    "$(val deadlines rate)" "$(val deadlines fire_p50_ms)" \
		    "$(val deadlines fire_p99_ms)" "$(val deadlines fire_p999_ms)" \
		    "$(val deadlines fire_due_p99_ms)" "$(val deadlines fire_samples)" \
		    "$DEADLINE_SECONDS" "$(val deadlines win_p99_ms)" \
		    "$(val deadlines win_due_p99_ms)" \
		    "$(val deadlines open_p50_ms)" "$(val deadlines open_p99_ms)" \
		    "$(val deadlines open_p999_ms)" "$(val deadlines open_due_p99_ms)" \
		    "$(val deadlines none_p50_ms)" "$(val deadlines none_p99_ms)" \
		    "$(val deadlines none_p999_ms)" "$(val deadlines none_due_p99_ms)"
		printf '  load average: %s at the start, %s at the move; nwdd %s%% PostgreSQL %s%% of a core while they fired\n' \
		    "$(val deadlines load1)" "$(val deadlines load_move)" \
		    "$(val deadlines nwdd_cpu)" "$(val deadlines pg_cpu)"
	fi
}

# ---- the Mosquitto peer (BENCH_ONLY=mosquitto) ------------------------------

RECEIVERS5=hubsys-norwich,hubsys-dereham,keyworker-kim,sw-ben,camhs-cara

# extra_identities PKI N: certificates of the world's CA (PKI/ca.crt, as
# deploy/gen-pki.sh's client ones) for kw-bench-1..N in PKI/clients/.
extra_identities() {
	local pki=$1 n=$2 k id ext
	ext=$(mktemp "$pki/.ext.XXXXXX")
	printf '%s\n' "basicConstraints = critical, CA:FALSE" \
	    "keyUsage = critical, digitalSignature" \
	    "extendedKeyUsage = clientAuth" >"$ext"
	for ((k = 1; k <= n; k++)); do
		id=kw-bench-$k
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$pki/clients/$id.key" 2>/dev/null &&
		    chmod 600 "$pki/clients/$id.key" &&
		    openssl req -new -key "$pki/clients/$id.key" \
			-subj "/O=nwd demo/CN=$id" -out "$pki/clients/$id.csr" &&
		    openssl x509 -req -in "$pki/clients/$id.csr" -CA "$pki/ca.crt" \
			-CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 30 -sha256 -extfile "$ext" \
			-out "$pki/clients/$id.crt" 2>/dev/null ||
		    { rm -f "$ext"; echo "$prog: could not issue a certificate for $id" >&2; return 1; }
		rm -f "$pki/clients/$id.csr"
	done
	rm -f "$ext"
}

# receivers_of N: the receivers' identities at fan-out N.
receivers_of() {
	local k r=$RECEIVERS5
	for ((k = 1; k <= $1 - 5; k++)); do r=$r,kw-bench-$k; done
	echo "$r"
}

# mosquitto_world: one turn of Mosquitto (BENCH_PEER=mosquitto, run by
# the mode below): a PKI, mosquitto started as a user that is not root,
# bench_mosq flat out and at BENCH_RATE with BENCH_FANOUT subscribers,
# then everything stopped and removed.
mosquitto_world() {
	local tmp mdir mlog mconf port mpid runuser='' uid k common_m
	tmp=$(mktemp -d "${BENCH_TMPROOT:-${TMPDIR:-/tmp}}/nwd-bench-mosq.XXXXXX")
	# shellcheck disable=SC2064
	trap "mosquitto_cleanup '$tmp'" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mdir=$tmp/mosquitto mlog=$tmp/mosquitto/mosquitto.log
	mconf=$tmp/mosquitto/mosquitto.conf
	step "Mosquitto: PKI (deploy/gen-pki.sh) in $tmp"
	"$root/deploy/gen-pki.sh" "$tmp/pki" || die "could not generate the PKI"
	[ "$FANOUT" -gt 5 ] && { extra_identities "$tmp/pki" $((FANOUT - 5)) || exit 1; }
	port=$("$pgsh" freeport) || die "no free port for mosquitto"
	mkdir -p "$mdir"
	cp "$tmp/pki/ca.crt" "$tmp/pki/server.crt" "$tmp/pki/server.key" "$mdir/"
	{
		echo "# written by deploy/bench.sh: the broker a hub's IT team would otherwise pick"
		if [ "$(id -u)" = 0 ]; then
			# As root, mosquitto drops to this user after opening its listener.
			runuser=$(id -un mosquitto 2>/dev/null || echo nobody)
			echo "user $runuser"
		fi
		echo "per_listener_settings false"
		echo "persistence false"
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		echo "log_type notice"
		echo "log_type information"
		echo "connection_messages false"
		echo "set_tcp_nodelay true"
		echo "max_queued_messages 0"
		echo "allow_anonymous false"
		echo "listener $port 127.0.0.1"
		echo "cafile $mdir/ca.crt"
		echo "certfile $mdir/server.crt"
		echo "keyfile $mdir/server.key"
		echo "require_certificate true"
		echo "use_identity_as_username true"
		echo "tls_version tlsv1.3"
	} >"$mconf"
	if [ -n "$runuser" ]; then
		# Its own files, and a way through $tmp (mode 0711) to them.
		chmod 711 "$tmp"
		chown -R "$runuser:" "$mdir"
		chmod 700 "$mdir"
		chmod 600 "$mdir/server.key"
	fi
	step "mosquitto ($mosquitto_bin) on 127.0.0.1:$port (log: $mlog)"
	"$mosquitto_bin" -c "$mconf" </dev/null >"$mlog" 2>&1 &
	mpid=$!
	echo "$mpid" >"$tmp/mosquitto.pid"
	# Ready when it logs that it runs; its log if it exits or is silent.
	for ((k = 0; k < 100; k++)); do
		grep -q ' mosquitto version .* running' "$mlog" 2>/dev/null && break
		kill -0 "$mpid" 2>/dev/null || {
			wait "$mpid" 2>/dev/null || true
			cat "$mlog" >&2
			die "mosquitto exited at start (its log above; BENCH_KEEP=1 keeps $mconf)"; }
		sleep 0.1
	done
	grep -q ' mosquitto version .* running' "$mlog" ||
	    { cat "$mlog" >&2; die "mosquitto did not report running within 10 s (its log above)"; }
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$mpid/status")
	[ "$uid" != 0 ] || die "mosquitto runs as root (its user option was not applied)"
	echo "mosquitto pid $mpid running as $(id -un "$uid" 2>/dev/null || echo "uid $uid"); $(head -n 1 "$mlog" | cut -d' ' -f2-)"
	common_m=(--port "$port" --pki "$tmp/pki" --subscribers "$FANOUT"
	    --receivers "$(receivers_of "$FANOUT")" --body "$BODY"
	    --seconds "$SECONDS_RUN" --warmup "$WARMUP" --pid "$mpid")
	if wants_mosq flat; then
		step "flat: $(basename "$mosq_gen") --publishers $PUBLISHERS ${common_m[*]}"
		"$mosq_gen" --publishers "$PUBLISHERS" "${common_m[@]}" ||
		    { tail -n 20 "$mlog" >&2; die "bench_mosq failed (flat); mosquitto's log above"; }
	fi
	if wants_mosq rate; then
		step "rate: $(basename "$mosq_gen") --publishers $RATE_PUBLISHERS --rate $RATE ${common_m[*]}"
		"$mosq_gen" --publishers "$RATE_PUBLISHERS" --rate "$RATE" "${common_m[@]}" ||
		    { tail -n 20 "$mlog" >&2; die "bench_mosq failed (rate); mosquitto's log above"; }
	fi
	kill -0 "$mpid" 2>/dev/null ||
	    { tail -n 20 "$mlog" >&2; die "mosquitto is no longer running (its log above)"; }
}
wants_mosq() { case " ${BENCH_MOSQ_MODES:-flat rate} " in *" $1 "*) return 0 ;; esac; return 1; }

mosquitto_cleanup() {
	local rc=$? tmp=$1 p
	trap - EXIT INT TERM
	if [ -s "$tmp/mosquitto.pid" ]; then
		p=$(cat "$tmp/mosquitto.pid")
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	fi
	[ -z "$statetmpfs" ] || rm -rf -- "$statetmpfs"
	if [ "$KEEP" = 1 ]; then
		printf '%s: kept %s\n' "$prog" "$tmp" >&2
	else
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}

# mosquitto_summary FILE: each round's figures of both brokers, and the
# ratios nwd / Mosquitto of each round and their median.
mosquitto_summary() {
	local inst=''
	[ "$INSTANCES" -gt 1 ] && inst="; nwd: $INSTANCES instances behind HAProxy"
	step "nwd beside Mosquitto, in alternation ($(nproc) cores; PostgreSQL, the brokers and the load generators on the same box$inst)"
	awk -v rate="$RATE" '
	    function med(a, n,   w, i, j, t) {
		for (i = 1; i <= n; i++) w[i] = a[i]
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		    if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
		return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2 }
	    { delete f
	      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      k = f["broker"] SUBSEP f["mode"] SUBSEP f["subscribers"] SUBSEP f["round"]
	      d[k] = f["deliveries_per_s"]; p50[k] = f["p50_ms"]; p99[k] = f["p99_ms"]
	      pubs[k] = f["pubs_per_s"]
	      if (f["broker"] == "nwd") aud[k] = f["audited_recipients_per_s"]
	      else lost[k] = f["lost"]
	      fo[f["subscribers"]] = 1; if (f["round"] + 0 > nr) nr = f["round"] + 0 }
	    function row(b, m, s,   r, line, k) {
		line = ""
		for (r = 1; r <= nr; r++) {
		    k = b SUBSEP m SUBSEP s SUBSEP r
		    line = line sprintf("  %s/s p50 %s p99 %s", (k in d) ? d[k] : "-",
			(k in d) ? p50[k] : "-", (k in d) ? p99[k] : "-")
		    if (b == "nwd" && k in aud) line = line sprintf(" (audited %s/s)", aud[k])
		    if (b == "mosquitto" && k in lost && lost[k] != 0) line = line sprintf(" (%s missing)", lost[k])
		    if (m == "rate" && k in pubs && pubs[k] < 0.98 * rate) { line = line sprintf(" [%s of %s publishes/s]", pubs[k], rate); short++ }
		}
		printf "%-9s %-4s fan-out %-3s%s\n", b, m, s, line }
	    function ratio(m, s, what, op, target,   r, n, v, line, kn, km, x) {
		n = 0; line = ""; unlike = 0
		for (r = 1; r <= nr; r++) {
		    kn = "nwd" SUBSEP m SUBSEP s SUBSEP r; km = "mosquitto" SUBSEP m SUBSEP s SUBSEP r
		    x = (what == "d") ? ((kn in d && km in d && d[km] > 0) ? d[kn] / d[km] : "") \
			: ((kn in p99 && km in p99 && p99[km] > 0) ? p99[kn] / p99[km] : "")
		    if (x == "") { line = line " -"; continue }
		    v[++n] = x; line = line sprintf(" %.2f", x)
		    if (what == "p" && (pubs[kn] < 0.98 * rate || pubs[km] < 0.98 * rate)) { line = line "*"; unlike++ } }
		if (n == 0) { printf "  %s: not measured\n", (what == "d") ? "deliveries/s" : "p99"; return }
		x = med(v, n)
		if (op == ">=") ok = (x >= 1.0); else ok = (x <= 1.0)
		printf "  %s at fan-out %s, %s: rounds%s; median %.2f (target %s 1.0: %s)\n",
		    (what == "d") ? "nwd deliveries/s / Mosquitto deliveries/s" : "nwd p99 / Mosquitto p99",
		    s, (m == "flat") ? "flat out" : "at " rate "/s", line, x, op,
		    unlike ? "not comparable: * a run below the rate" : ok ? "MET" : "MISSED" }
	    END {
		if (nr == 0) { print "no figures"; exit }
		printf "each round: deliveries/s, publish->deliver p50 and p99 in ms (nwd: every delivery audited)\n"
		n = 0; for (s in fo) fl[++n] = s + 0
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (fl[j] < fl[i]) { t = fl[i]; fl[i] = fl[j]; fl[j] = t }
		for (i = 1; i <= n; i++) for (mi = 1; mi <= 2; mi++) {
		    m = mi == 1 ? "flat" : "rate"
		    row("nwd", m, fl[i]); row("mosquitto", m, fl[i]) }
		printf "ratios, nwd / Mosquitto, round by round and the median:\n"
		for (i = 1; i <= n; i++) ratio("flat", fl[i], "d", ">=")
		for (i = 1; i <= n; i++) ratio("rate", fl[i], "p", "<=")
		if (short)
		    printf "  [N of %s publishes/s]: that run did not sustain the rate (publishes acked in the window); its p99 is not at %s/s, and a p99 ratio with it compares unlike loads\n", rate, rate
		printf "  Mosquitto flat out: \"missing\" is the window'"'"'s deliveries still queued when the drain stopped (30 s after the window): its queues grow for as long as publishers outrun it, so its flat-out latency is the queue'"'"'s\n"
	    }' "$1"
}

if [ "${BENCH_PEER:-}" = mosquitto ]; then
	mosquitto_world
	exit 0
fi

if wants mosquitto; then
	[ "$(echo $ONLY)" = mosquitto ] ||
	    die "BENCH_ONLY=mosquitto runs alone (it runs nwd's flat and rate itself), not with \"$ONLY\""
	[ -x "$mosquitto_bin" ] ||
	    die "mosquitto is missing ($mosquitto_bin): apt-get install mosquitto (or set BENCH_MOSQUITTO)"
	[ -x "$mosq_gen" ] ||
	    die "$mosq_gen is missing: it is built only when configure finds libmosquitto (apt-get install libmosquitto-dev, then configure and make $build again; or set BENCH_MOSQ)"
	command -v openssl >/dev/null || die "the openssl command is missing"
	tmproot=${BENCH_TMPROOT:-${TMPDIR:-/tmp}}
	mkdir -p "$tmproot"
	peer=$(mktemp "$tmproot/nwd-bench-peer.XXXXXX")
	trap 'rm -f -- "$peer" "$peer.out"' EXIT
	rc=0
	for ((i = 1; i <= MOSQ_ROUNDS; i++)); do
		for f in $MOSQ_FANOUTS; do
			step "round $i of $MOSQ_ROUNDS, fan-out $f: nwd flat, then rate, each in a world of its own"
			BENCH_ONLY="flat rate" BENCH_WORLD=each BENCH_FANOUT=$f \
			    BENCH_REPEAT=1 BENCH_AGAINST='' "$0" "$build" |
			    tee "$peer.out" || rc=1
			grep '^RESULT ' "$peer.out" |
			    sed "s|^RESULT |RESULT broker=nwd round=$i |" >>"$peer" || rc=1
			for m in flat rate; do
				step "round $i of $MOSQ_ROUNDS, fan-out $f: Mosquitto $m, in a world of its own"
				BENCH_PEER=mosquitto BENCH_MOSQ_MODES=$m BENCH_FANOUT=$f \
				    "$0" "$build" | tee "$peer.out" || rc=1
				grep '^RESULT ' "$peer.out" |
				    sed "s|^RESULT |RESULT round=$i |" >>"$peer" || rc=1
			done
		done
	done
	mosquitto_summary "$peer"
	exit "$rc"
fi

# ---- several instances, 1, 2 and 3 (BENCH_ONLY=scale) ----------------------

# scale_summary FILE: per configuration (config=N instances), flat out,
# steady at BENCH_RATE and at BENCH_CROSS_RATE: deliveries/s, p50/p99,
# CPU per audited delivery, and the cross-instance p99 beside the same.
scale_summary() {
	step "several instances on one PostgreSQL, behind HAProxy ($(nproc) cores; PostgreSQL, HAProxy, every nwdd and bench_broker on the same box)"
	awk -v rate="$RATE" -v xrate="$CROSS_RATE" '
	    { delete f
	      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      k = f["config"] SUBSEP f["mode"]
	      for (x in f) v[k, x] = f[x]
	      if (!(f["config"] in seen)) { seen[f["config"]] = 1; cf[++nc] = f["config"] } }
	    function cpu(k) {
		if (v[k, "deliveries_per_s"] + 0 <= 0 || v[k, "nwdd_cpu"] < 0) return "-"
		return sprintf("%.0f", (v[k, "nwdd_cpu"] + v[k, "pg_cpu"]) * 1e4 / v[k, "deliveries_per_s"]) }
	    function line(c, m, what,   k, lb, want, note) {
		k = c SUBSEP m
		if (!((k SUBSEP "mode") in v)) { printf "%-3s %-16s not run\n", c, what; return }
		lb = v[k, "lb_cpu"]; if (lb + 0 < 0) lb = "-"
		want = (m == "rate") ? rate : xrate; note = ""
		if (m != "flat" && v[k, "pubs_per_s"] + 0 < 0.98 * want)
			note = "[" v[k, "pubs_per_s"] " publishes/s: below the rate]"
		printf "%-3s %-16s %8s %7s %7s %6s %6s %6s %6s %5s  %s\n", c, what,
		    v[k, "deliveries_per_s"], v[k, "p50_ms"], v[k, "p99_ms"], cpu(k),
		    v[k, "nwdd_cpu"], v[k, "pg_cpu"], lb, v[k, "load1"], note }
	    END {
		if (nc == 0) { print "no figures"; exit }
		printf "deliveries/s, publish->deliver p50/p99 ms, CPU us per audited delivery (every nwdd + PostgreSQL), %% of a core, load average at the start\n"
		printf "%-3s %-16s %8s %7s %7s %6s %6s %6s %6s %5s\n", "n", "run", "deliv/s", "p50", "p99", "us/dlv", "nwdd%", "pg%", "hap%", "load"
		for (i = 1; i <= nc; i++) {
		    line(cf[i], "flat", "flat out")
		    line(cf[i], "rate", "steady " rate "/s")
		    line(cf[i], "cross", "steady " xrate "/s") }
		printf "publish->deliver at %s/s by where the publisher was: same instance as the subscriber, or another (announced by NOTIFY); target: cross adds < 2 ms at p99\n", xrate
		for (i = 1; i <= nc; i++) {
		    k = cf[i] SUBSEP "cross"
		    if (!((k SUBSEP "mode") in v)) continue
		    if (v[k, "cross_n"] + 0 == 0) { printf "  %s instance: p50 %s p99 %s ms (%s deliveries); none crossed\n", cf[i], v[k, "p50_ms"], v[k, "p99_ms"], v[k, "same_n"]; continue }
		    d = v[k, "cross_p99_ms"] - v[k, "same_p99_ms"]
		    printf "  %s instances: same p50 %s p99 %s ms (%s deliveries), cross p50 %s p99 %s ms (%s): cross adds %.2f ms at p99: %s\n",
			cf[i], v[k, "same_p50_ms"], v[k, "same_p99_ms"], v[k, "same_n"],
			v[k, "cross_p50_ms"], v[k, "cross_p99_ms"], v[k, "cross_n"], d,
			(d < 2) ? "MET" : "MISSED" } }' "$1"
}

if wants scale; then
	tmproot=${BENCH_TMPROOT:-${TMPDIR:-/tmp}}
	mkdir -p "$tmproot"
	scale=$(mktemp "$tmproot/nwd-bench-scale.XXXXXX")
	trap 'rm -f -- "$scale" "$scale.out"' EXIT
	rc=0
	for n in $INSTANCES_LIST; do
		step "$n instance$([ "$n" -gt 1 ] && echo "s behind HAProxy"): flat, rate and cross"
		BENCH_ONLY="flat rate cross" BENCH_INSTANCES=$n BENCH_REPEAT=1 \
		    BENCH_AGAINST='' "$0" "$build" | tee "$scale.out" || rc=1
		grep '^RESULT ' "$scale.out" |
		    sed "s|^RESULT |RESULT config=$n |" >>"$scale" || rc=1
	done
	scale_summary "$scale"
	exit "$rc"
fi

# ---- rounds: repeats, and another build in alternation ------------------------

REPEAT=${BENCH_REPEAT:-1}
AGAINST=${BENCH_AGAINST:-}
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "$prog: BENCH_REPEAT is a number of rounds" >&2; exit 2; }

# rounds_summary FILE: per build and measurement, each round's headline
# figure and their median (FILE: RESULT lines with build= and round=).
rounds_summary() {
	step "rounds: each build's headline figures, round by round, and the median"
	awk 'function keys(m) {
	        if (m == "flat") return "deliveries_per_s"
	        if (m == "rate") return "p99_ms"
	        if (m == "cross") return "same_p99_ms cross_p99_ms"
	        if (m == "idle") return "rss_kb"
	        if (m == "copy") return "copy_rows_per_s"
	        if (m == "backlog") return "per_s peak_rss_kb"
	        if (m == "deadlines") return "seconds first_ms fire_p99_ms fire_due_p99_ms open_p99_ms none_p99_ms"
	        return "" }
	    { delete f
	      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      nk = split(keys(f["mode"]), ks, " ")
	      for (j = 1; j <= nk; j++) {
	          k = ks[j]
	          id = f["build"] " " f["mode"] " " k
	          if (!(id in n)) order[++nid] = id
	          v[id, ++n[id]] = f[k] + 0 } }
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
		[ -x "$b/daemon/nwdd" ] &&
		    [ -x "${BENCH_BROKER:-$b/tests/bench/bench_broker}" ] ||
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
	wants cross && groups+=(cross)
	wants idle && groups+=(idle)
	if wants copy && ! wants flat; then groups+=(copy); fi
	wants backlog && groups+=(backlog)
	wants deadlines && groups+=(deadlines)
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
nwdd_pids=()	# every instance's, nwdd_pid first
all_pids=	# the same, comma-separated
haproxy_pid=
perf_pid=

dirty_saved=
statetmpfs=
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
	# A perf the backlog's replay started, if the bench ended before it.
	if [ -s "$tmp/perf.pid" ]; then
		for p in $(cat "$tmp/perf.pid"); do kill -INT "$p" 2>/dev/null || true; done
		sleep 1
	fi
	if [ -n "$haproxy_pid" ] && kill -0 "$haproxy_pid" 2>/dev/null; then
		kill -TERM "$haproxy_pid" 2>/dev/null || true
		wait "$haproxy_pid" 2>/dev/null || true
	fi
	for p in "${nwdd_pids[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${nwdd_pids[@]}"; do
		for _ in $(seq 1 300); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	if [ -f "$pgdir/data/PG_VERSION" ]; then
		[ "$KEEP" = 1 ] && cp "$pgdir/postgres.log" "$tmp/" 2>/dev/null
		"$pgsh" destroy "$pgdir" || rc=1
	fi
	[ -z "$statetmpfs" ] || rm -rf -- "$statetmpfs"
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
	if [ "$PG_STATEMENTS" = 1 ]; then
		"$pgsh" psql "$pgdir" postgres -X -q -A -t \
		    -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
		    >/dev/null || die "could not load pg_stat_statements (BENCH_PG_STATEMENTS)"
	fi
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
	if [ "$PG_STATEMENTS" = 1 ]; then
		"$pgsh" psql "$pgdir" postgres -X -q -A -t \
		    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null ||
		    die "could not create pg_stat_statements (BENCH_PG_STATEMENTS; postgresql-contrib)"
	fi
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
awk '$2 != "revoked-rob" && $2 != "exp-eve"' "$world/deploy/principals.conf" \
    >"$tmp/principals.conf"
# BENCH_FANOUT above 5: recipients kw-bench-1..., each with a certificate.
receivers=
if [ "$FANOUT" -gt 5 ]; then
	extra_identities "$pki" $((FANOUT - 5)) || die "could not issue the extra identities"
	for ((k = 1; k <= FANOUT - 5; k++)); do
		printf 'kw-bench-%d kw-bench-%d hub_keyworker hub hub:norwich OFFICIAL\n' "$k" "$k"
	done >>"$tmp/principals.conf"
	receivers=$(receivers_of "$FANOUT")
fi
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
policy = $world/deploy/policy.nwd
database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_daemon connect_timeout=5
migrate_database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_owner connect_timeout=5
migrations = $world/deploy/sql
log_level = $LOG_LEVEL
max_connections = $max_conn
metrics_listen = 127.0.0.1:$metricsport
EOF
# Keys an older build (BENCH_AGAINST) does not know are left out for it.
# The state directory (the anchor's state file, flushed before each audit
# transaction) is in the world, or with BENCH_STATE_TMPFS=1 on /dev/shm,
# where a flush costs nothing: the difference is what the anchor's flush
# costs.
statebase=$tmp
if [ "$STATE_TMPFS" = 1 ]; then
	statetmpfs=$(mktemp -d /dev/shm/nwd-bench-state.XXXXXX) ||
	    die "cannot make a state directory on /dev/shm"
	statebase=$statetmpfs
fi
if grep -aq 'state_directory' "$nwdd"; then
	echo "state_directory = $statebase/state" >>"$conf"
fi
if [ -f "$world/deploy/calendar.conf" ]; then
	echo "calendar = $world/deploy/calendar.conf" >>"$conf"
fi
# The deadlines' world: nwdd's wall clock is a file (test_clock) that the
# bench moves on; it starts at the real time, and runs on from there.
clockfile=
if wants deadlines; then
	clockfile=$tmp/clock
	date +%s%3N >"$clockfile"
	echo "test_clock = $clockfile" >>"$conf"
fi

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

# ---- several instances (BENCH_INSTANCES > 1) ----------------------------------

# start_cluster: instances 2..N, each the first's configuration with an
# instance name, listen and metrics ports, state directory and log of its
# own (the same database, keys and policy; the name lock refuses two of
# one name), then haproxy in front, from deploy/haproxy.cfg as
# tests/integration/test_haproxy.c makes it: comments dropped; of global,
# maxconn only; the bind on a loopback port; one server line per instance
# (its port, and its metrics port for the /healthz check); defaults and the
# check settings as the example has them; and a stats page on another
# loopback port, read until every instance is UP.
nwdports=("$nwdport")
metricsports=("$metricsport")
start_cluster() {
	local i c l st up=0 statsport
	for ((i = 2; i <= INSTANCES; i++)); do
		nwdports+=("$("$pgsh" freeport)") || die "no free port for nwdd-$i"
		metricsports+=("$("$pgsh" freeport)") || die "no free port for nwdd-$i's metrics"
		c=$tmp/nwdd-$i.conf l=$tmp/nwdd-$i.log
		sed -e "s|^instance = .*|instance = nwdd-bench-$i|" \
		    -e "s|^listen = .*|listen = 127.0.0.1:${nwdports[i - 1]}|" \
		    -e "s|^metrics_listen = .*|metrics_listen = 127.0.0.1:${metricsports[i - 1]}|" \
		    -e "s|^state_directory = .*|state_directory = $statebase/state-$i|" \
		    "$conf" >"$c"
		step "nwdd-bench-$i on 127.0.0.1:${nwdports[i - 1]} (log: $l)"
		start_nwdd "$c" "$l"
		echo "nwdd-bench-$i pid ${nwdd_pids[i - 1]} ready"
	done
	haproxy_port=$("$pgsh" freeport) || die "no free port for haproxy"
	statsport=$("$pgsh" freeport) || die "no free port for haproxy's stats"
	awk -v bind="127.0.0.1:$haproxy_port" -v ports="${nwdports[*]}" \
	    -v mports="${metricsports[*]}" -v stats="127.0.0.1:$statsport" '
	    BEGIN { n = split(ports, p, " "); split(mports, mp, " ") }
	    /^[ \t]*(#|$)/ { next }
	    /^[^ \t]/ { sec = ($1 == "global") ? "global" : "other"; print
		if (sec == "global") print "\tmaxconn 4096"
		next }
	    sec == "global" { next }
	    $1 == "bind" { print "\tbind " bind; next }
	    $1 == "server" { if (!done) for (i = 1; i <= n; i++)
		printf "\tserver nwdd-bench%s 127.0.0.1:%s check port %s\n", (i > 1) ? "-" i : "", p[i], mp[i]
		done = 1; next }
	    { print }
	    END { print "frontend stats"; print "\tmode http"; print "\tbind " stats
		print "\tno log"; print "\tstats enable"; print "\tstats uri /stats" }' \
	    "$root/deploy/haproxy.cfg" >"$tmp/haproxy.cfg"
	step "haproxy ($haproxy_bin) on 127.0.0.1:$haproxy_port in front of $INSTANCES instances, leastconn (config: $tmp/haproxy.cfg)"
	"$haproxy_bin" -db -f "$tmp/haproxy.cfg" </dev/null >"$tmp/haproxy.log" 2>&1 &
	haproxy_pid=$!
	# Every server UP with its check passed (HAProxy counts a server UP
	# before its first check): its /healthz answered 200.
	for ((i = 0; i < 200; i++)); do
		kill -0 "$haproxy_pid" 2>/dev/null ||
		    { cat "$tmp/haproxy.log" >&2; die "haproxy exited at start (its log above)"; }
		st=$(curl -s --max-time 2 "http://127.0.0.1:$statsport/stats;csv" || true)
		up=$(awk -F, 'NR == 1 { sub(/^# /, ""); for (j = 1; j <= NF; j++) col[$j] = j; next }
		    $1 == "nwdd" && $2 ~ /^nwdd-bench/ && $col["status"] == "UP" &&
		    $col["check_status"] == "L7OK" { n++ } END { print n + 0 }' <<<"$st")
		[ "$up" -eq "$INSTANCES" ] && break
		sleep 0.1
	done
	[ "$up" -eq "$INSTANCES" ] ||
	    { cat "$tmp/haproxy.log" >&2; die "haproxy: $up of $INSTANCES instances UP after 20 s"; }
	echo "haproxy pid $haproxy_pid: $INSTANCES of $INSTANCES instances UP"
}

mkfifo "$tmp/ready"
if [ -n "$clockfile" ]; then date +%s%3N >"$clockfile"; fi
# start_nwdd CONF LOG: one instance, waited for (READY on its fd 3).
start_nwdd() {
	local ready='' pid
	"$nwdd" -c "$1" --ready-fd 3 3>"$tmp/ready" </dev/null >>"$2" 2>&1 &
	pid=$!
	nwdd_pids+=("$pid")
	all_pids=${all_pids:+$all_pids,}$pid
	read -r -t 30 ready <"$tmp/ready" || true
	if [ "$ready" != READY ]; then
		tail -n 30 "$2" >&2
		die "nwdd ($1) did not report READY within 30 s"
	fi
}
start_nwdd "$conf" "$log"
nwdd_pid=${nwdd_pids[0]}
echo "nwdd pid $nwdd_pid ready; PostgreSQL 127.0.0.1:$pgport (postmaster $pgpid)"
server=127.0.0.1:$nwdport
if [ "$INSTANCES" -gt 1 ]; then
	start_cluster
	server=127.0.0.1:$haproxy_port
fi

# The allocation through the first instance: the others apply it (and a
# publish through any of them waits for it: read-your-writes).
common=(--server "127.0.0.1:$nwdport" --pki "$pki")
"$bench" "${common[@]}" --allocate || die "could not allocate the bench subject"
common=(--server "$server" --pki "$pki")

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
# Several instances: each bucket summed over them.
scrape() {
	local m
	for m in "${metricsports[@]}"; do
		curl -s --max-time 5 "http://127.0.0.1:$m/metrics" |
		    scrape_parse || true
	done | awk '{ k = $1 " " $2; if (!(k in c)) o[++n] = k; c[k] += $3 }
	    END { for (i = 1; i <= n; i++) print o[i], c[o[i]] }'
}
scrape_parse() {
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

# statements_report BEFORE AFTER (wal_snap lines): PostgreSQL's time by
# statement over the run (pg_stat_statements, BENCH_PG_STATEMENTS=1), the
# largest first, with calls per publish: what each publish costs the one
# database that every instance shares.
statements_report() {
	local m0 m1 pubs
	read -r _ _ _ m0 <<<"$1"
	read -r _ _ _ m1 <<<"$2"
	pubs=$((m1 - m0))
	[ "$pubs" -gt 0 ] || return 0
	echo "-- PostgreSQL by statement over the run (pg_stat_statements: execution time, all instances; $pubs publishes):"
	printf '%10s %9s %10s %9s  %s\n' calls "per pub" "total ms" "us/pub" statement
	psql_q "SELECT calls, round(calls::numeric / $pubs, 2),
	    round(total_exec_time::numeric), round((1000 * total_exec_time / $pubs)::numeric),
	    left(regexp_replace(query, '\s+', ' ', 'g'), 100)
	    FROM pg_stat_statements
	    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'nwd')
	    ORDER BY total_exec_time DESC LIMIT 15" |
	    awk -F'|' '{ printf "%10s %9s %10s %9s  %s\n", $1, $2, $3, $4, $5 }'
}

run() {
	local name=$1 wal0='' wal1
	shift
	step "$name: $(basename "$bench") $*"
	command -v curl >/dev/null && scrape >"$tmp/$name.metrics0"
	# The backlog reports its replay alone (backlog_report).
	case $name in copy | idle | backlog | deadlines) ;; *) wal0=$(wal_snap) ;; esac
	[ "$PG_STATEMENTS" = 1 ] && [ -n "$wal0" ] &&
	    psql_q "SELECT pg_stat_statements_reset()" >/dev/null
	# cross is a steady run (mode=rate) at another rate: named apart.
	"$bench" "$@" | sed -u "s/^RESULT mode=rate /RESULT mode=$name /" |
	    tee "$tmp/$name.out"
	grep '^RESULT ' "$tmp/$name.out" >>"$results" ||
	    die "$name: bench_broker printed no RESULT"
	if [ -n "$wal0" ]; then
		wal1=$(wal_snap)
		wal_report "$wal0" "$wal1"
		[ "$PG_STATEMENTS" = 1 ] && statements_report "$wal0" "$wal1"
	fi
	if [ "$name" != copy ] && [ "$name" != idle ] &&
	    [ "$name" != backlog ] && [ "$name" != deadlines ] &&
	    command -v curl >/dev/null; then
		scrape >"$tmp/$name.metrics1"
		store_report "$tmp/$name.metrics0" "$tmp/$name.metrics1"
	fi
}

# backlog_report: what nwdd said of the replay, and what the replay cost
# the store (WAL, transactions), from the files the replay's hooks wrote.
backlog_report() {
	local m
	echo "-- nwdd's log of the replay:"
	grep -E ' event=(replay|replay_failed) .*durable=backlog| event=unacked_overflow ' "$log" |
	    tail -n 5 || true
	if [ -s "$tmp/replay.wal0" ] && [ -s "$tmp/replay.wal1" ]; then
		m=$(val backlog received)
		awk -F'|' -v m="${m:-0}" 'NR == FNR { r = $1; f = $2; b = $3; next }
		    { if (m > 0) printf "-- WAL over the replay (pg_stat_wal): %.0f MB; a replayed message: %.1f records, %.2f full-page images, %.0f bytes\n",
			($3 - b) / 1048576, ($1 - r) / m, ($2 - f) / m, ($3 - b) / m }' \
		    "$tmp/replay.wal0" "$tmp/replay.wal1"
	fi
	if [ -s "$tmp/replay.metrics0.raw" ] && [ -s "$tmp/replay.metrics1.raw" ]; then
		scrape_parse <"$tmp/replay.metrics0.raw" >"$tmp/replay.metrics0"
		scrape_parse <"$tmp/replay.metrics1.raw" >"$tmp/replay.metrics1"
		store_report "$tmp/replay.metrics0" "$tmp/replay.metrics1" |
		    sed 's/during the run/during the replay/'
	fi
}

# deadlines_report: what nwdd said of the escalations (its log, on the
# real clock, from the bench's move), and what they cost the store (WAL,
# transactions), from the files the move's hooks wrote.
deadlines_report() {
	local m n0 b
	m=$(val deadlines move_real_ms)
	b=$(val deadlines breaching)
	[ -n "$m" ] || return 0
	if [ -s "$tmp/move.nwddlog0" ]; then
		n0=$(cat "$tmp/move.nwddlog0")
		echo "-- nwdd's log from the clock's move (ms after it; the log's clock is the real one):"
		sed -n "$((n0 + 1)),\$p" "$log" | awk -v m="$m" '
		    function ms(f,   t) { split(substr(f, 12), t, ":"); sub("Z", "", t[3])
			return t[1] * 3600000 + t[2] * 60000 + t[3] * 1000 }
		    function rel(f,   d) { d = ms(f) - (m % 86400000); if (d < -43200000) d += 86400000; return d }
		    function note(k, f,   d) { d = rel(f); n[k]++; if (!(k in first)) first[k] = d; last[k] = d
			b = int(d / 100); if (b >= 0 && b < 600) { bin[k, b]++; if (b > maxb) maxb = b } }
		    / event=clock_moved / { if (!("moved" in first)) first["moved"] = rel($1); next }
		    / event=publish_queued .*kind=escalation .*sender=nwd/ { note("queued", $1); next }
		    / event=escalated / { note("escalated", $1); next }
		    / event=escalation_not_sent / { note("not_sent", $1); next }
		    / event=deadlines_loaded / { note("reloaded", $1); next }
		    END {
			printf "   clock_moved (nwdd saw the file): %s\n", ("moved" in first) ? first["moved"] " ms" : "not logged"
			printf "   escalations queued (who it reached read, Escalation decided): %d, the first at %s ms, the last at %s ms\n", n["queued"], first["queued"], last["queued"]
			printf "   escalated (its transaction committed): %d, the first at %s ms, the last at %s ms\n", n["escalated"], first["escalated"], last["escalated"]
			if (n["not_sent"] + n["reloaded"] > 0)
				printf "   escalation_not_sent: %d (the first at %s ms); deadlines reloaded: %d\n", n["not_sent"], first["not_sent"], n["reloaded"]
			for (k = 0; k <= maxb; k++) { q = q " " bin["queued", k] + 0; e = e " " bin["escalated", k] + 0 }
			printf "   by 100 ms from the move, queued:   %s\n", q
			printf "   by 100 ms from the move, escalated:%s\n", e }'
	fi
	if [ -s "$tmp/move.wal0" ] && [ -s "$tmp/move.wal1" ]; then
		psql_q "SELECT pg_wal_lsn_diff('$(cat "$tmp/move.wal1")', '$(cat "$tmp/move.wal0")')" |
		    awk -v e="${b:-0}" '{ if (e > 0) printf "-- WAL from the move to the last escalation (its insert position; the steady publishes too): %.1f MB, %.0f bytes an escalation\n",
			$1 / 1048576, $1 / e }'
	fi
	if [ -s "$tmp/move.metrics0.raw" ] && [ -s "$tmp/move.metrics1.raw" ]; then
		scrape_parse <"$tmp/move.metrics0.raw" >"$tmp/move.metrics0"
		scrape_parse <"$tmp/move.metrics1.raw" >"$tmp/move.metrics1"
		store_report "$tmp/move.metrics0" "$tmp/move.metrics1" |
		    sed 's/during the run/from the move to the last escalation/'
	fi
}

# deadlines_trace: nwdd's statements from the clock's move to the last
# escalation, from PostgreSQL's statement log: by step (parse, bind,
# execute) and statement (its first words), the count and the time.
deadlines_trace() {
	local p0 p1
	[ -s "$tmp/move.pglog0" ] && [ -s "$tmp/move.pglog1" ] || {
		echo "-- trace: the move's hooks left no log positions"; return 0; }
	p0=$(cat "$tmp/move.pglog0") p1=$(cat "$tmp/move.pglog1")
	step "trace: nwdd's statements from the clock's move to the last escalation (PostgreSQL's statement log: slower than untraced)"
	sed -n "$((p0 + 1)),${p1}p" "$pgdir/postgres.log" |
	    awk '$7 == "duration:" && $5 ~ /^nwd_daemon@/ {
		st = ""; for (i = 12; i <= NF && i < 18; i++) st = st " " $i
		k = sprintf("%-8s %s", $10, substr(st, 2, 60))
		n[k]++; ms[k] += $8; all += $8; nall++
		split($2, t, ":"); at = t[1] * 3600000 + t[2] * 60000 + t[3] * 1000
		if (first == "") first = at; last = at }
	    END { printf "%d steps logged over %.0f ms, %.0f ms of them in PostgreSQL (the logged durations); the largest:\n", nall, last - first, all
		printf "%8s %12s %13s  %-8s %s\n", "count", "total", "each", "step", "statement"
		for (k in n) printf "%8d %9.1f ms %7.3f ms each  %s\n", n[k], ms[k], ms[k] / n[k], k | "sort -k2,2 -n -r | head -n 20" }'
}

# backlog_trace: where each page of the replay spent its time, from
# nwdd's debug lines (a page's query sent: event=replay_page; each message
# sent: event=deliver) and PostgreSQL's statement log (the page's SELECT
# and the INSERT of its audit rows, with their durations), merged on the
# wall clock (both in milliseconds):
#   query   replay_page to the end of the SELECT's execution
#   decide  the end of the SELECT to the start of the INSERT's bind: the
#           result to nwdd, each message opened, decided, packed and its
#           audit row made, the batch sent
#   insert  the INSERT's bind and execution (PostgreSQL)
#   commit  the end of the INSERT to the first message sent: the COMMIT
#           (WAL flush) and its answer to nwdd
#   send    the first to the last message of the page sent
#   next    the last message sent to the next page's query
backlog_trace() {
	local p0 p1 n0 n1
	[ -s "$tmp/replay.pglog1" ] && [ -s "$tmp/replay.nwddlog1" ] || {
		echo "-- trace: the replay's hooks left no log positions"; return 0; }
	p0=$(cat "$tmp/replay.pglog0") p1=$(cat "$tmp/replay.pglog1")
	n0=$(cat "$tmp/replay.nwddlog0") n1=$(cat "$tmp/replay.nwddlog1")
	step "trace: where each page of the replay spent its time (nwdd log_level debug, PostgreSQL's statement log: slower than untraced)"
	{
		sed -n "$((p0 + 1)),${p1}p" "$pgdir/postgres.log" |
		    awk '$7 == "duration:" && $5 ~ /^nwd_daemon@/ {
			split($2, t, ":"); ms = t[1] * 3600000 + t[2] * 60000 + t[3] * 1000
			k = ""
			if ($12 == "SELECT" && $13 == "c0,") k = "S"
			else if ($11 == "nwd_insert_event:") k = "I"
			if (k == "") next
			k = k ($10 == "parse" ? "P" : $10 == "bind" ? "B" : "E")
			printf "%.3f %s %s\n", ms, k, $8 }'
		sed -n "$((n0 + 1)),${n1}p" "$log" |
		    awk '/ durable=backlog( |$)/ && / event=(replay_page|deliver|replay) / {
			split(substr($1, 12), t, ":"); sub("Z", "", t[3])
			ms = t[1] * 3600000 + t[2] * 60000 + t[3] * 1000
			k = / event=replay_page / ? "Q" : / event=deliver / ? "D" : "END"
			printf "%.3f %s 0\n", ms, k }'
	} | sort -s -n -k1,1 >"$tmp/trace.events"
	awk 'function close_page(tn) {
		if (st == "") return
		if (tI1 > 0 && tD0 > 0) {
			np++
			ph["query"] += tS - tQ; v["query", np] = tS - tQ
			ph["decide"] += tI0 - tS; v["decide", np] = tI0 - tS
			ph["insert"] += tI1 - tI0; v["insert", np] = tI1 - tI0
			ph["commit"] += tD0 - tI1; v["commit", np] = tD0 - tI1
			ph["send"] += tD1 - tD0; v["send", np] = tD1 - tD0
			ph["next"] += tn - tD1; v["next", np] = tn - tD1
			msgs += nd
		} else
			other += tn - tQ
		st = "" }
	    function q(name, f,   a, i, j, t, n) {
		n = np; for (i = 1; i <= n; i++) a[i] = v[name, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n ? a[int(f * (n - 1) + 1.5)] : 0 }
	    $2 == "Q" { close_page($1); st = "query"; tQ = $1; tS = tI0 = tI1 = tD0 = tD1 = 0; nd = 0
		if (t_first == "") t_first = $1; next }
	    $2 == "SP" || $2 == "SB" { if (st == "query") sql_q += $3; next }
	    $2 == "SE" && st == "query" { tS = $1; sql_q += $3; nsel++; st = "decide"; next }
	    $2 == "IB" && st == "decide" { tI0 = $1 - $3; sql_i += $3; st = "insert"; next }
	    $2 == "IE" && st == "decide" { tI0 = $1 - $3; st = "insert" }
	    $2 == "IE" && st == "insert" { tI1 = $1; sql_i += $3; st = "commit"; next }
	    $2 == "D" && st == "commit" { tD0 = tD1 = $1; nd = 1; st = "send"; next }
	    $2 == "D" && st == "send" { tD1 = $1; nd++; next }
	    $2 == "END" { close_page($1); t_end = $1 }
	    END {
		if (np == 0) { print "no complete page found in the logs"; exit }
		total = 0
		for (k in ph) total += ph[k]
		printf "%d pages of %.0f messages on average; %.0f ms over them, %.1f ms a page (%.0f messages/s); %.0f ms in other steps (the last, empty page)\n",
		    np, msgs / np, total, total / np, 1000 * msgs / total, other
		printf "%-8s %9s %7s %9s %9s\n", "phase", "total ms", "share", "p50 ms", "p90 ms"
		split("query decide insert commit send next", names, " ")
		for (i = 1; i <= 6; i++)
			printf "%-8s %9.0f %6.1f%% %9.1f %9.1f\n", names[i], ph[names[i]],
			    100 * ph[names[i]] / total, q(names[i], .5), q(names[i], .9)
		printf "PostgreSQL alone (its logged durations): the SELECT %.1f ms a page (parse, bind, execute), the INSERT %.1f ms a page (bind, execute)\n",
		    nsel ? sql_q / nsel : 0, sql_i / np }' "$tmp/trace.events"
}

db="host=127.0.0.1 port=$pgport dbname=nwd user=nwd_auditor"
traffic=(--subscribers "$SUBSCRIBERS" --body "$BODY" --seconds "$SECONDS_RUN"
    --warmup "$WARMUP" --pid "$all_pids" --pg-pid "$pgpid" --db "$db")
[ -n "$haproxy_pid" ] && traffic+=(--lb-pid "$haproxy_pid")
[ "$ACK" = 1 ] && traffic+=(--ack)
[ -n "$receivers" ] && traffic+=(--receivers "$receivers")
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
	[ -n "$perf_pid" ] || return 0
	wait "$perf_pid" || true
	perf_pid=
	perf_print "$1" window
}
perf_print() { # MODE WHAT: the report of $tmp/perf.data
	local pg_pids
	[ -s "$tmp/perf.data" ] || return 0
	step "perf: where the machine's time went during the $1 $2"
	# Our cluster only: other PostgreSQL instances may run here.
	pg_pids=$(pgrep -d, -P "$pgpid" || true)
	pg_pids=$pgpid${pg_pids:+,$pg_pids}
	perf_top --sort comm --percent-limit 1 | tee "$tmp/perf-$1-comm.txt"
	echo "-- nwdd (pid $all_pids), by symbol (self time, % of all samples):"
	perf_top --pid "$all_pids" --sort dso,sym --percent-limit 0.3 |
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

if wants cross; then
	sleep 2
	perf_start
	run cross "${common[@]}" --publishers "$RATE_PUBLISHERS" \
	    --rate "$CROSS_RATE" "${traffic[@]}"
	perf_report cross
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

if wants backlog; then
	sleep 2
	# Run by bench_broker just before the replay's session connects and
	# just after its last delivery: the store's metrics and the WAL at both
	# ends, perf (BENCH_PERF) and the trace's logging (BENCH_BACKLOG_TRACE)
	# for the replay alone.
	pg_q="$(printf '%q ' "$pgsh" psql "$pgdir" postgres -X -q -A -t)"
	wal_sql="SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal"
	{
		echo '#!/bin/sh'
		echo "# written by deploy/bench.sh"
		if [ "$TRACE" = 1 ]; then
			echo "wc -l <$(printf '%q' "$pgdir/postgres.log") >$tmp/replay.pglog0"
			echo "wc -l <$(printf '%q' "$log") >$tmp/replay.nwddlog0"
			echo "$pg_q -c \"ALTER SYSTEM SET log_min_duration_statement = 0\" -c \"ALTER SYSTEM SET log_parameter_max_length = 0\" -c \"SELECT pg_reload_conf()\" >/dev/null"
		fi
		command -v curl >/dev/null &&
		    echo "curl -s --max-time 5 http://127.0.0.1:$metricsport/metrics >$tmp/replay.metrics0.raw"
		echo "$pg_q -c \"$wal_sql\" >$tmp/replay.wal0"
		if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
			echo "perf record -q -a -g -F 499 -o $tmp/perf.data >$tmp/perf.log 2>&1 </dev/null &"
			echo "echo \$! >$tmp/perf.pid"
			echo "sleep 0.5"
		fi
		echo "exit 0"
	} >"$tmp/before-replay"
	{
		echo '#!/bin/sh'
		echo "# written by deploy/bench.sh"
		if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
			echo "p=\$(cat $tmp/perf.pid) && kill -INT \$p"
			echo "while kill -0 \$p 2>/dev/null; do sleep 0.1; done"
			echo "rm -f $tmp/perf.pid"
		fi
		echo "$pg_q -c \"$wal_sql\" >$tmp/replay.wal1"
		command -v curl >/dev/null &&
		    echo "curl -s --max-time 5 http://127.0.0.1:$metricsport/metrics >$tmp/replay.metrics1.raw"
		if [ "$TRACE" = 1 ]; then
			echo "$pg_q -c \"ALTER SYSTEM RESET log_min_duration_statement\" -c \"ALTER SYSTEM RESET log_parameter_max_length\" -c \"SELECT pg_reload_conf()\" >/dev/null"
			echo "wc -l <$(printf '%q' "$pgdir/postgres.log") >$tmp/replay.pglog1"
			echo "wc -l <$(printf '%q' "$log") >$tmp/replay.nwddlog1"
		fi
		echo "exit 0"
	} >"$tmp/after-replay"
	chmod 700 "$tmp/before-replay" "$tmp/after-replay"
	backlog_args=(--backlog "$BACKLOG" --publishers "$PUBLISHERS"
	    --body "$BODY" --pid "$nwdd_pid" --pg-pid "$pgpid" --db "$db"
	    --before-replay "$tmp/before-replay"
	    --after-replay "$tmp/after-replay")
	[ "$ACK" = 1 ] && backlog_args+=(--ack)
	run backlog "${common[@]}" "${backlog_args[@]}"
	backlog_report
	perf_print backlog replay
	[ "$TRACE" = 1 ] && backlog_trace
fi

if wants deadlines; then
	sleep 2
	# Run by bench_broker just before it moves the clock and just after
	# the last escalation: the store's metrics, the WAL, where nwdd's log
	# was, and perf (BENCH_PERF) for the escalations alone.
	pg_q="$(printf '%q ' "$pgsh" psql "$pgdir" postgres -X -q -A -t)"
	# The WAL's insert position, not pg_stat_wal: a backend adds to
	# pg_stat_wal at most once a second, too coarse for a second or two.
	wal_sql="SELECT pg_current_wal_insert_lsn()"
	{
		echo '#!/bin/sh'
		echo "# written by deploy/bench.sh"
		if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
			# The machine (as the other measurements), and nwdd
			# alone with DWARF call graphs (it has no frame pointers).
			echo "perf record -q -a -g -F 499 -o $tmp/perf.data >$tmp/perf.log 2>&1 </dev/null &"
			echo "echo \$! >$tmp/perf.pid"
			echo "perf record -q --call-graph dwarf,16384 -F 999 -p $nwdd_pid -o $tmp/perf-nwdd.data >$tmp/perf-nwdd.log 2>&1 </dev/null &"
			echo "echo \$! >>$tmp/perf.pid"
			echo "sleep 0.5"
		fi
		echo "wc -l <$(printf '%q' "$log") >$tmp/move.nwddlog0"
		if [ "$DL_TRACE" = 1 ]; then
			echo "wc -l <$(printf '%q' "$pgdir/postgres.log") >$tmp/move.pglog0"
			echo "$pg_q -c \"ALTER SYSTEM SET log_min_duration_statement = 0\" -c \"ALTER SYSTEM SET log_parameter_max_length = 0\" -c \"SELECT pg_reload_conf()\" >/dev/null"
		fi
		command -v curl >/dev/null &&
		    echo "curl -s --max-time 5 http://127.0.0.1:$metricsport/metrics >$tmp/move.metrics0.raw"
		echo "$pg_q -c \"$wal_sql\" >$tmp/move.wal0"
		echo "exit 0"
	} >"$tmp/before-move"
	{
		echo '#!/bin/sh'
		echo "# written by deploy/bench.sh"
		echo "$pg_q -c \"$wal_sql\" >$tmp/move.wal1"
		command -v curl >/dev/null &&
		    echo "curl -s --max-time 5 http://127.0.0.1:$metricsport/metrics >$tmp/move.metrics1.raw"
		if [ "$DL_TRACE" = 1 ]; then
			echo "$pg_q -c \"ALTER SYSTEM RESET log_min_duration_statement\" -c \"ALTER SYSTEM RESET log_parameter_max_length\" -c \"SELECT pg_reload_conf()\" >/dev/null"
			echo "wc -l <$(printf '%q' "$pgdir/postgres.log") >$tmp/move.pglog1"
		fi
		if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
			echo "for p in \$(cat $tmp/perf.pid); do kill -INT \$p; done"
			echo "for p in \$(cat $tmp/perf.pid); do while kill -0 \$p 2>/dev/null; do sleep 0.1; done; done"
			echo "rm -f $tmp/perf.pid"
		fi
		echo "exit 0"
	} >"$tmp/after-move"
	chmod 700 "$tmp/before-move" "$tmp/after-move"
	deadline_args=(--deadlines "$DEADLINES" --breaching "$BREACHING"
	    --clock "$clockfile" --rate "$DEADLINE_RATE"
	    --seconds "$DEADLINE_SECONDS" --warmup 2 --publishers "$PUBLISHERS"
	    --body "$BODY" --pid "$nwdd_pid" --pg-pid "$pgpid" --db "$db"
	    --before-move "$tmp/before-move" --after-move "$tmp/after-move")
	run deadlines "${common[@]}" "${deadline_args[@]}"
	deadlines_report
	[ "$DL_TRACE" = 1 ] && deadlines_trace
	perf_print deadlines escalations
	if [ -s "$tmp/perf-nwdd.data" ]; then
		step "perf: nwdd alone (DWARF call graphs) during the escalations"
		echo "-- inclusive (children), by symbol, % of nwdd's samples:"
		perf report -i "$tmp/perf-nwdd.data" --stdio --children -g none \
		    --sort sym --percent-limit 2 2>/dev/null |
		    grep -v -e '^#' -e '^$' | head -n 45 || true
	fi
fi

kill -0 "$nwdd_pid" 2>/dev/null || die "nwdd is no longer running (see $log)"

summary

if [ "$HOLD" -gt 0 ]; then
	step "holding the world for $HOLD s; for example:"
	echo "  $bench ${common[*]} --pid $nwdd_pid --pg-pid $pgpid --db '$db'"
	echo "  $pgsh psql $pgdir postgres"
	sleep "$HOLD" || true
fi
