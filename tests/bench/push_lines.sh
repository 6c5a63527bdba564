#!/usr/bin/env bash
# push_lines.sh [-n MESSAGES] [-s SEPARATE] [BUILDDIR]: what "nwd push
# --lines" saves over one "nwd push" per message, against a running nwdd.
#
# Pushes MESSAGES RiskAlerts (default 10000) about one young person as
# plo-ana twice: all in one "nwd push --lines" session, then as separate
# "nwd push" runs, SEPARATE of them (default MESSAGES; fewer to save
# time: the per-run figure is then extrapolated to MESSAGES, and says so).
# Prints each way's wall time, messages/s and milliseconds per message,
# and the ratio.  The figures, not a verdict: nothing is asserted.
#
# The daemon: the one NWD_SERVER, NWD_CERT, NWD_KEY and NWD_CA name, if
# NWD_SERVER is set (the quick start's, say: its nwd environment lines);
# else a world of its own in a temporary directory, removed afterwards, as
# deploy/bench.sh makes one: a throwaway PostgreSQL (deploy/pg.sh), a PKI
# (deploy/gen-pki.sh), the shipped principals and policy, nwdd --migrate,
# nwdd with --ready-fd.  BUILDDIR (default build/ of this tree) holds the
# built client/nwd and daemon/nwdd.
set -euo pipefail

prog=push_lines.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pgsh=$root/deploy/pg.sh
n=10000
separate=

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

while getopts n:s: opt; do
	case $opt in
	n) n=$OPTARG ;;
	s) separate=$OPTARG ;;
	*) die "usage: $prog [-n MESSAGES] [-s SEPARATE] [BUILDDIR]" ;;
	esac
done
shift $((OPTIND - 1))
[[ $n =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number"
separate=${separate:-$n}
[[ $separate =~ ^[1-9][0-9]*$ ]] || die "-s wants a positive number"
build=$(cd "${1:-$root/build}" && pwd) || die "no build directory"
nwd=$build/client/nwd
nwdd=$build/daemon/nwdd
[ -x "$nwd" ] || die "$nwd is not built"

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/push_lines.XXXXXX")
pgdir=$tmp/pg
nwdd_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$nwdd_pid" ]; then
		kill -TERM "$nwdd_pid" 2>/dev/null || true
		wait "$nwdd_pid" 2>/dev/null || true
	fi
	[ -f "$pgdir/data/PG_VERSION" ] && "$pgsh" destroy "$pgdir" >/dev/null 2>&1
	rm -rf -- "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${NWD_SERVER:-}" ]; then
	[ -x "$nwdd" ] || die "$nwdd is not built"
	pgport=$("$pgsh" freeport) || die "no free port for PostgreSQL"
	"$pgsh" init "$pgdir" "$pgport" >/dev/null 2>"$tmp/pg.err" ||
	    { cat "$tmp/pg.err" >&2; die "could not start PostgreSQL"; }
	pki=$tmp/pki
	"$root/deploy/gen-pki.sh" "$pki" >/dev/null 2>&1 || die "could not generate the PKI"
	nwdport=$("$pgsh" freeport) || die "no free port for nwdd"
	cat >"$tmp/nwdd.conf" <<CONF
instance = nwdd-push-lines
user = $(id -un)
max_connections_per_principal = 0
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
state_directory = $tmp/state
CONF
	"$nwdd" --migrate -c "$tmp/nwdd.conf" >>"$tmp/nwdd.log" 2>&1 ||
	    { tail -n 20 "$tmp/nwdd.log" >&2; die "nwdd --migrate failed"; }
	mkfifo "$tmp/ready"
	"$nwdd" -c "$tmp/nwdd.conf" --ready-fd 3 3>"$tmp/ready" </dev/null >>"$tmp/nwdd.log" 2>&1 &
	nwdd_pid=$!
	ready=
	read -r -t 30 ready <"$tmp/ready" || true
	[ "$ready" = READY ] || { tail -n 30 "$tmp/nwdd.log" >&2; die "nwdd did not report READY"; }
	export NWD_SERVER=127.0.0.1:$nwdport NWD_CA=$pki/ca.crt
	export NWD_CERT=$pki/clients/plo-ana.crt NWD_KEY=$pki/clients/plo-ana.key
fi

body='{"category":"GOING_MISSING","level":"MEDIUM","summary":"not back at the hub by ten"}'
awk -v n="$n" -v body="$body" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "{\"kind\":\"risk_alert\",\"subject\":\"YP-BENCH\",\"body\":%s}\n", body
}' >"$tmp/lines"
printf '%s\n' "$body" >"$tmp/body.json"

now() { date +%s.%N; }

t0=$(now)
"$nwd" push --lines <"$tmp/lines" >"$tmp/lines.out" || die "nwd push --lines failed (exit $?)"
t1=$(now)
ok=$(grep -c '"message_id"' "$tmp/lines.out" || true)
[ "$ok" -eq "$n" ] || die "nwd push --lines published $ok of $n"

t2=$(now)
for ((i = 0; i < separate; i++)); do
	"$nwd" push risk_alert --subject YP-BENCH "$tmp/body.json" >/dev/null ||
	    die "nwd push failed at run $((i + 1))"
done
t3=$(now)

awk -v n="$n" -v s="$separate" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
	one = b - a; sep = d - c
	full = sep * n / s
	printf "push --lines: %d messages in one session: %.2f s, %.0f messages/s, %.3f ms each\n", n, one, n / one, one * 1000 / n
	printf "push:         %d separate runs: %.2f s, %.0f messages/s, %.3f ms each\n", s, sep, s / sep, sep * 1000 / s
	if (s != n)
		printf "              (extrapolated to %d runs: %.1f s)\n", n, full
	printf "ratio: --lines is %.1f times faster\n", full / one
}'
