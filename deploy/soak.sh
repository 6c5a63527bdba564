#!/usr/bin/env bash
# soak.sh [BUILDDIR]: a long mixed load on nwdd with PostgreSQL restarts and
# client churn, then an account of every acknowledged publish (G1, G3, G4,
# G12).  Not part of the test suite: it runs for minutes.
#
# Sets up a world of its own in a temporary directory, as deploy/bench.sh
# does (a throwaway PostgreSQL with synchronous_commit on, a PKI, nwdd
# started with --ready-fd, the bench subject allocated), then runs
# tests/bench/bench_broker from BUILDDIR (default build/ of this tree) for
# SOAK_SECONDS:
#
#   - SOAK_PUBLISHERS sessions as plo-ana publishing RiskAlerts at
#     SOAK_RATE publishes/s in all, each acknowledged publish's message id
#     written to a report file;
#   - SOAK_SUBSCRIBERS sessions (hubsys-norwich, keyworker-kim,
#     hubsys-dereham in turn) on a durable subscription "soak", acking
#     every delivery;
#   - every session closed and connected again after about SOAK_CHURN
#     seconds (a subscriber's reconnect replays what it missed);
#   - every SOAK_PG_EVERY seconds PostgreSQL stopped with "pg.sh stop
#     immediate" and started again SOAK_PG_DOWN seconds later.
#
# Then, with PostgreSQL up, it checks the trail against the report:
#
#   lost        acknowledged publishes with no "publish" audit row, plus
#               (acked publish, durable subscription) pairs with no row in
#               nwd.deliveries (the durable queue never had it): must be 0
#   unacked     publishes committed (a "publish" row) but never
#               acknowledged to plo-ana's sessions: reported; each must be
#               explained by its session having ended before the
#               acknowledgement could be sent (a "disconnect" row of that
#               session), since an in-doubt commit is resolved, never
#               guessed (G3): unexplained ones must be 0
#   chain       nwd audit verify over the whole trail: must be intact
#
# and prints the acknowledged publishes, the audited deliveries (deliver
# rows of acknowledged publishes), the audit rows, the durable queues'
# states, nwdd's peak RSS (sampled every 100 ms) and its open descriptors
# at the start and at the end (after the clients are gone: must not grow).
#
# Environment (defaults in brackets):
#   SOAK_SECONDS [600]      length of the load
#   SOAK_RATE [200]         publishes/s in all
#   SOAK_PUBLISHERS [8]     publisher sessions
#   SOAK_SUBSCRIBERS [3]    durable subscriber sessions
#   SOAK_BODY [1024]        RiskAlert summary bytes
#   SOAK_CHURN [5]          seconds a client session lives (0: no churn)
#   SOAK_PG_EVERY [60]      seconds between PostgreSQL restarts (0: none)
#   SOAK_PG_DOWN [5]        seconds PostgreSQL stays down each time
#   SOAK_KEEP [0]           1: keep the temporary directory (logs, report)
#   SOAK_TMPROOT [$TMPDIR or /tmp]
#
# Exit status: 0 if the daemon survived, nothing was lost, every commit
# without an acknowledgement is explained, the chain verifies and no
# descriptor leaked; 1 otherwise.
set -euo pipefail

prog=soak.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m -- "${1:-$root/build}")
pgsh=$root/deploy/pg.sh
nwdd=$build/daemon/nwdd
nwd=$build/client/nwd
bench=$build/tests/bench/bench_broker

SOAK_SECONDS=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-200}
PUBLISHERS=${SOAK_PUBLISHERS:-8}
SUBSCRIBERS=${SOAK_SUBSCRIBERS:-3}
BODY=${SOAK_BODY:-1024}
CHURN=${SOAK_CHURN:-5}
PG_EVERY=${SOAK_PG_EVERY:-60}
PG_DOWN=${SOAK_PG_DOWN:-5}
KEEP=${SOAK_KEEP:-0}
RECEIVERS=hubsys-norwich,keyworker-kim,hubsys-dereham
DURABLE=soak

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
say() { printf 'soak: %s\n' "$*" | tee -a "$summary"; }

for v in SOAK_SECONDS:"$SOAK_SECONDS" SOAK_RATE:"$RATE" \
    SOAK_PUBLISHERS:"$PUBLISHERS" SOAK_SUBSCRIBERS:"$SUBSCRIBERS" \
    SOAK_BODY:"$BODY" SOAK_CHURN:"$CHURN" SOAK_PG_EVERY:"$PG_EVERY" \
    SOAK_PG_DOWN:"$PG_DOWN"; do
	case ${v#*:} in
	'' | *[!0-9]*) die "${v%%:*} must be a whole number, not \"${v#*:}\"" ;;
	esac
done
[ "$SOAK_SECONDS" -gt 0 ] || die "SOAK_SECONDS must be at least 1"
[ "$RATE" -gt 0 ] || die "SOAK_RATE must be at least 1"
for f in "$nwdd" "$nwd" "$bench"; do
	[ -x "$f" ] || die "$f is missing: build first (make -C $build)"
done

tmproot=${SOAK_TMPROOT:-${TMPDIR:-/tmp}}
mkdir -p "$tmproot"
tmp=$(mktemp -d "$tmproot/nwd-soak.XXXXXX")
pgdir=$tmp/pg
pki=$tmp/pki
conf=$tmp/nwdd.conf
log=$tmp/nwdd.log
report=$tmp/acked.txt
summary=$tmp/summary
nwdd_pid=
bench_pid=
: >"$summary"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
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
"$root/deploy/gen-pki.sh" "$pki" >/dev/null || die "could not generate the PKI"

nwdport=$("$pgsh" freeport) || die "no free port for nwdd"
umask 077
cat >"$conf" <<EOF
# written by deploy/soak.sh
instance = nwdd-soak
user = root
listen = 127.0.0.1:$nwdport
tls_cert = $pki/server.crt
tls_key = $pki/server.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
body_key = $pki/body.key
audit_signing_key = $pki/audit-signing.key
principals = $root/deploy/principals.conf
policy = $root/deploy/policy.nwd
calendar = $root/deploy/calendar.conf
database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_daemon connect_timeout=5
migrate_database = host=127.0.0.1 port=$pgport dbname=nwd user=nwd_owner connect_timeout=5
migrations = $root/deploy/sql
log_level = info
db_reconnect_max = 2
checkpoint_interval = 10
state_directory = $tmp/state
EOF

step "nwdd --migrate, then nwdd on 127.0.0.1:$nwdport (log: $log)"
"$nwdd" --migrate -c "$conf" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "nwdd --migrate failed"; }
mkfifo "$tmp/ready"
"$nwdd" -c "$conf" --ready-fd 3 3>"$tmp/ready" </dev/null >>"$log" 2>&1 &
nwdd_pid=$!
ready=
read -r -t 30 ready <"$tmp/ready" || true
if [ "$ready" != READY ]; then
	tail -n 30 "$log" >&2
	die "nwdd did not report READY within 30 s"
fi
echo "nwdd pid $nwdd_pid ready; PostgreSQL 127.0.0.1:$pgport"

common=(--server "127.0.0.1:$nwdport" --pki "$pki")
"$bench" "${common[@]}" --allocate >/dev/null ||
    die "could not allocate the bench subject"

psql_q() { "$pgsh" psql "$pgdir" postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
nfds() { find "/proc/$nwdd_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$nwdd_pid/status" 2>/dev/null || echo -1; }

# The descriptors of an nwdd without clients: wait for the count to hold
# still (sessions close asynchronously), at most 30 s.
settled_fds() {
	local last=-1 n same=0
	for _ in $(seq 1 300); do
		n=$(nfds)
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 10 ] && break
		else
			same=0
		fi
		last=$n
		sleep 0.1
	done
	echo "$last"
}

fds_start=$(settled_fds)
rss_start=$(rss)

# ---- the load ------------------------------------------------------------------

step "load: ${SOAK_SECONDS} s, $RATE publishes/s from $PUBLISHERS sessions, $SUBSCRIBERS durable subscribers, churn ${CHURN} s, PostgreSQL restarted every ${PG_EVERY} s"
churn=()
[ "$CHURN" -gt 0 ] && churn=(--churn "$CHURN")
"$bench" "${common[@]}" --publishers "$PUBLISHERS" \
    --subscribers "$SUBSCRIBERS" --receivers "$RECEIVERS" --body "$BODY" \
    --rate "$RATE" --seconds "$SOAK_SECONDS" --warmup 0 \
    --durable "$DURABLE" --report "$report" --pid "$nwdd_pid" \
    "${churn[@]}" >"$tmp/bench.out" 2>"$tmp/bench.err" &
bench_pid=$!

restarts=0
t0=$(date +%s)
if [ "$PG_EVERY" -gt 0 ]; then
	next=$((t0 + PG_EVERY))
	# No restart that would still be down when the load ends.
	while kill -0 "$bench_pid" 2>/dev/null; do
		now=$(date +%s)
		if [ "$now" -ge "$next" ] &&
		    [ $((t0 + SOAK_SECONDS - now)) -gt $((PG_DOWN + 10)) ]; then
			echo "$(date +%T) PostgreSQL: stop -m immediate"
			"$pgsh" stop "$pgdir" immediate >>"$tmp/pg-restarts.log" 2>&1 ||
			    die "pg.sh stop failed (see $tmp/pg-restarts.log)"
			sleep "$PG_DOWN"
			echo "$(date +%T) PostgreSQL: start"
			"$pgsh" start "$pgdir" >>"$tmp/pg-restarts.log" 2>&1 ||
			    die "pg.sh start failed (see $tmp/pg-restarts.log)"
			restarts=$((restarts + 1))
			next=$((next + PG_EVERY))
		fi
		kill -0 "$nwdd_pid" 2>/dev/null || break
		sleep 1
	done
fi
bench_rc=0
wait "$bench_pid" || bench_rc=$?
bench_pid=
cat "$tmp/bench.out"
sed -n '1,20p' "$tmp/bench.err" >&2

# ---- the account ---------------------------------------------------------------

step "account"
bad=0
if ! kill -0 "$nwdd_pid" 2>/dev/null; then
	tail -n 30 "$log" >&2
	say "FAIL: nwdd is gone"
	exit 1
fi
[ "$bench_rc" -eq 0 ] || { say "FAIL: bench_broker exited $bench_rc"; bad=1; }
result=$(grep '^RESULT ' "$tmp/bench.out" || true)
field() { printf '%s\n' "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

fds_end=$(settled_fds)
rss_end=$(rss)
acked=$(wc -l <"$report")

psql_q -c "CREATE TABLE public.soak_acked (id uuid PRIMARY KEY)" >/dev/null
psql_q -c "\\copy public.soak_acked FROM '$report'" >/dev/null
q() { psql_q -c "$1"; }
lost_audit=$(q "SELECT count(*) FROM public.soak_acked a WHERE NOT EXISTS
    (SELECT 1 FROM nwd.audit_events e WHERE e.message_id = a.id AND
    e.action = 'publish')")
unacked=$(q "SELECT count(*) FROM nwd.audit_events e WHERE e.action =
    'publish' AND e.actor = 'plo-ana' AND NOT EXISTS (SELECT 1 FROM
    public.soak_acked a WHERE a.id = e.message_id)")
unexplained=$(q "SELECT count(*) FROM nwd.audit_events e WHERE e.action =
    'publish' AND e.actor = 'plo-ana' AND NOT EXISTS (SELECT 1 FROM
    public.soak_acked a WHERE a.id = e.message_id) AND NOT EXISTS (SELECT 1
    FROM nwd.audit_events d WHERE d.action = 'disconnect' AND d.instance =
    e.instance AND d.session = e.session)")
queues=$(q "SELECT count(*) FROM nwd.subscriptions WHERE name = '$DURABLE'")
lost_durable=$(q "SELECT count(*) FROM public.soak_acked a CROSS JOIN
    (SELECT principal FROM nwd.subscriptions WHERE name = '$DURABLE') s
    WHERE NOT EXISTS (SELECT 1 FROM nwd.deliveries d WHERE d.message_id =
    a.id AND d.principal = s.principal AND d.subscription = '$DURABLE')")
delivered=$(q "SELECT count(*) FROM nwd.audit_events WHERE action =
    'deliver' AND message_id IN (SELECT id FROM public.soak_acked)")
rows=$(q "SELECT count(*) FROM nwd.audit_events")
states=$(q "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM
    (SELECT state, count(*) AS n FROM nwd.deliveries WHERE subscription =
    '$DURABLE' GROUP BY 1) s")
actions=$(q "SELECT string_agg(action || ' ' || n, ', ' ORDER BY n DESC)
    FROM (SELECT action, count(*) AS n FROM nwd.audit_events GROUP BY 1) a")

verify_rc=0
"$nwd" audit verify --db "host=127.0.0.1 port=$pgport dbname=nwd user=nwd_auditor" \
    --pubkey "$pki/audit-signing.pub" >"$tmp/verify.out" 2>&1 || verify_rc=$?

say "$SOAK_SECONDS s of load: $RATE publishes/s offered by $PUBLISHERS sessions, $SUBSCRIBERS durable subscribers, sessions churned every ~${CHURN} s, PostgreSQL stopped (immediate) $restarts times for ${PG_DOWN} s"
say "publishes: $acked acknowledged of $(field sent_total) sent; reconnects: $(field pub_reconnects) publisher, $(field sub_reconnects) subscriber"
say "audited deliveries: $delivered (deliver rows of acknowledged publishes)"
say "audit rows: $rows in all ($actions)"
say "durable queues ($queues): ${states:-empty}"
say "lost: $lost_audit acknowledged publishes without their audit row, $lost_durable missing from a durable queue"
say "committed, never acknowledged: $unacked (the publisher's session ended first); unexplained: $unexplained"
say "chain: $(tr '\n' ' ' <"$tmp/verify.out")(exit $verify_rc)"
say "nwdd: peak RSS $(field peak_rss_kb) kB (start $rss_start kB, end $rss_end kB); open descriptors $fds_start at the start, $fds_end at the end"

[ "$acked" -gt 0 ] || { say "FAIL: no publish was acknowledged"; bad=1; }
if [ "$lost_audit" -ne 0 ] || [ "$lost_durable" -ne 0 ]; then
	say "FAIL: acknowledged publishes were lost"
	bad=1
fi
[ "$unexplained" -eq 0 ] ||
    { say "FAIL: $unexplained publishes committed and never acknowledged to a session that was still there"; bad=1; }
[ "$verify_rc" -eq 0 ] || { say "FAIL: the audit chain does not verify"; bad=1; }
[ "$fds_end" -le $((fds_start + 2)) ] ||
    { say "FAIL: nwdd holds $((fds_end - fds_start)) more descriptors than at the start"; bad=1; }
if [ "$bad" -eq 0 ]; then
	say "PASS"
else
	KEEP=1
fi
exit "$bad"
