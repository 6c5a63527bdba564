#!/usr/bin/env bash
# run-test.sh TEST [ARGS...]: the automake LOG_COMPILER of every test.
#
# A unit test (anything not under integration/) is simply executed.
#
# An integration test gets a world of its own, torn down afterwards whatever
# happens:
#   NWD_TEST_TMP     an empty scratch directory for the test
#   NWD_TEST_PGDIR   a throwaway PostgreSQL made by deploy/pg.sh (roles
#                    nwd_owner, nwd_daemon, nwd_auditor; database nwd)
#   NWD_TEST_PGPORT  its loopback port
#   NWD_TEST_PKI     a PKI made by deploy/gen-pki.sh, or the one named by
#                    NWD_TEST_PKI on entry if that is already set
# The test's exit status is passed on (77 skip, 99 hard error as automake
# means them); 99 if the world could not be set up.
#
# NWD_SRCDIR and NWD_BUILDDIR come from the Makefile; run by hand from the
# build directory they default to this script's tree and the current
# directory.  NWD_TEST_TMPROOT (default $TMPDIR or /tmp) is where the
# temporary directories go; NWD_TEST_KEEP=1 keeps them (PostgreSQL is
# stopped all the same).
#
# NWD_TEST_WRAPPER runs the test program (unit or integration) under a
# command, through libtool --mode=execute so that a libtool wrapper script
# gives way to the real program, e.g.
#   NWD_TEST_WRAPPER="valgrind --error-exitcode=97 --leak-check=full
#       --errors-for-leak-kinds=definite"
# If it is valgrind, its log goes to a file of the test's temporary
# directory and is printed if it reports errors; the test then fails (97)
# even if the program exited 0.  The daemons an integration test starts
# have their own wrapper, NWD_TEST_DAEMON_WRAPPER (harness.h).
set -euo pipefail

prog=run-test.sh
[ $# -ge 1 ] || { echo "usage: $0 TEST [ARGS...]" >&2; exit 99; }

integration=0
case $1 in
*/integration/* | integration/*) integration=1 ;;
*.sh) exec "$@" ;;	# scripts (manpages.sh ...) are never wrapped
*) [ -n "${NWD_TEST_WRAPPER:-}" ] || exec "$@" ;;
esac

: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${NWD_BUILDDIR:=$PWD}"
export NWD_SRCDIR NWD_BUILDDIR
pgsh=$NWD_SRCDIR/deploy/pg.sh
name=$(basename "$1")

fail() { printf '%s: %s: %s\n' "$prog" "$name" "$*" >&2; exit 99; }

# wrapped LOGDIR TEST [ARGS...]: runs the test, under NWD_TEST_WRAPPER if
# it is set; valgrind's logs go to LOGDIR.  Returns the test's status, or
# 97 if valgrind reported errors and the test exited 0.
wrapped() {
	local logdir=$1 rc=0 log n
	local -a w
	shift
	if [ -z "${NWD_TEST_WRAPPER:-}" ]; then
		"$@" || rc=$?
		return "$rc"
	fi
	read -r -a w <<<"$NWD_TEST_WRAPPER"
	case ${w[0]##*/} in
	valgrind) w+=("--log-file=$logdir/valgrind-test.%p.log") ;;
	esac
	if [ -x "$NWD_BUILDDIR/libtool" ]; then
		"$NWD_BUILDDIR/libtool" --mode=execute "${w[@]}" "$@" || rc=$?
	else
		"${w[@]}" "$@" || rc=$?
	fi
	for log in "$logdir"/valgrind-test.*.log; do
		[ -f "$log" ] || continue
		n=$(sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) error.*/\1/p' \
		    "$log" | tail -n 1)
		[ "${n:-0}" -gt 0 ] || continue
		printf '%s: %s: valgrind found %s error(s) in the test program:\n' \
		    "$prog" "$name" "$n" >&2
		cat "$log" >&2
		[ "$rc" -ne 0 ] || rc=97
	done
	return "$rc"
}

if [ "$integration" = 0 ]; then
	utmp=$(mktemp -d "${NWD_TEST_TMPROOT:-${TMPDIR:-/tmp}}/nwd-$name.XXXXXX") ||
	    fail "cannot make a temporary directory"
	trap 'rm -rf -- "$utmp"' EXIT
	rc=0
	wrapped "$utmp" "$@" || rc=$?
	exit "$rc"
fi

root=${NWD_TEST_TMPROOT:-${TMPDIR:-/tmp}}
mkdir -p "$root"
tmp=$(mktemp -d "$root/nwd-$name.XXXXXX") || fail "cannot make a temporary directory in $root"
pgdir=$tmp/pg

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -f "$pgdir/data/PG_VERSION" ]; then
		if [ "${NWD_TEST_KEEP:-0}" = 1 ]; then
			if [ -f "$pgdir/standby/data/PG_VERSION" ]; then
				"$pgsh" stop "$pgdir/standby" immediate || rc=99
			fi
			"$pgsh" stop "$pgdir" immediate || rc=99
		else
			"$pgsh" destroy "$pgdir" || rc=99
		fi
	fi
	if [ "${NWD_TEST_KEEP:-0}" = 1 ]; then
		printf '%s: %s: kept %s\n' "$prog" "$name" "$tmp" >&2
	else
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# PostgreSQL on a free port.  Another process can take the port between
# "freeport" and the server's bind; pg.sh then exits 3 and we try another.
port=
for attempt in 1 2 3 4 5; do
	p=$("$pgsh" freeport) || fail "no free port for PostgreSQL"
	rc=0
	"$pgsh" init "$pgdir" "$p" 2>"$tmp/pg-init.err" || rc=$?
	if [ $rc -eq 0 ]; then
		port=$p
		break
	fi
	cat "$tmp/pg-init.err" >&2
	[ $rc -eq 3 ] || fail "could not start PostgreSQL (pg.sh init exited $rc)"
	"$pgsh" destroy "$pgdir" >&2 || true
done
[ -n "$port" ] || fail "could not find a free port for PostgreSQL after $attempt attempts"

if [ -n "${NWD_TEST_PKI:-}" ]; then
	[ -s "$NWD_TEST_PKI/ca.crt" ] || fail "NWD_TEST_PKI=$NWD_TEST_PKI holds no PKI (no ca.crt)"
else
	NWD_TEST_PKI=$tmp/pki
	"$NWD_SRCDIR/deploy/gen-pki.sh" "$NWD_TEST_PKI" || fail "could not generate the test PKI"
fi

mkdir "$tmp/scratch"
export NWD_TEST_PGPORT=$port NWD_TEST_PGDIR=$pgdir NWD_TEST_PKI NWD_TEST_TMP=$tmp/scratch

# Not exec: the cluster must be destroyed after the test, whatever it did.
rc=0
wrapped "$tmp" "$@" || rc=$?
exit "$rc"
