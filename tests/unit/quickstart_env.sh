#!/bin/sh
# quickstart_env.sh: the quick start's env.sh works in any POSIX shell.
#
# Writes an env.sh from deploy/quickstart-env.sh.in as deploy/quickstart.sh
# does (a scratch .quickstart with empty certificate files), then sources it
# in dash, sh and bash, under "set -eu" as well:
#   - NWD_AS=NAME picks the principal; without it, plo-ana; bash's
#     ". env.sh NAME" works too;
#   - NWD_SERVER, NWD_CA, NWD_CERT, NWD_KEY and PATH are exported (a child
#     process sees them) and no helper variable is left behind;
#   - a name with no certificate, or one that is not a plain name
#     ("../x", "-x", "a b"), fails the "." with a message and changes
#     nothing.
# Exit status: 0 pass, 1 fail (every problem is listed), 77 skip if dash is
# not installed (it is on every Debian).
set -u

prog=quickstart_env.sh
: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
template=$NWD_SRCDIR/deploy/quickstart-env.sh.in

command -v dash >/dev/null 2>&1 || {
	echo "$prog: dash is not installed; skipped"
	exit 77
}

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nwd-qsenv.XXXXXX") || exit 1
trap 'rm -rf -- "$tmp"' EXIT
qs=$tmp/.quickstart
mkdir -p "$qs/pki/clients"
for who in plo-ana sw-ben stranger; do
	: >"$qs/pki/clients/$who.crt"
	: >"$qs/pki/clients/$who.key"
done
: >"$qs/pki/clients/nokey.crt"
# As deploy/quickstart.sh's write_env does.
sed -e "s|@QS@|$qs|g" -e "s|@BUILD@|$tmp/build|g" -e "s|@PORT@|7443|g" \
    "$template" >"$qs/env.sh"
grep -q '@[A-Z]*@' "$qs/env.sh" && problem "env.sh keeps a @PLACEHOLDER@"

# run SHELL SCRIPT: runs SCRIPT in SHELL with a clean environment.
run() {
	env -i PATH=/usr/bin:/bin HOME="$tmp" "$1" -c "$2" 2>&1
}

# What a child sees after sourcing, one line.
show='sh -c '\''printf "%s|%s|%s|%s|%s\n" "$NWD_SERVER" "$NWD_CA" "$NWD_CERT" "$NWD_KEY" "${PATH%%:*}"'\'

expect_ok() {	# SHELL WHO SOURCE-COMMAND
	got=$(run "$1" "set -eu; $3 >/dev/null; $show; echo \"left:\${nwd_env_who-}\${nwd_env_ok-}\"")
	want="127.0.0.1:7443|$qs/pki/ca.crt|$qs/pki/clients/$2.crt|$qs/pki/clients/$2.key|$tmp/build/client
left:"
	[ "$got" = "$want" ] || problem "$1: '$3': got
$got
wanted
$want"
}

expect_refused() {	# SHELL SOURCE-COMMAND
	got=$(run "$1" "$2; echo \"status=\$? cert=\${NWD_CERT-unset} left:\${nwd_env_who-}\${nwd_env_ok-}\"")
	case $got in
	*"env.sh: no demo principal"*"status=1 cert=unset left:") ;;
	*) problem "$1: '$2' was not refused as it should be: $got" ;;
	esac
}

for sh in dash sh bash; do
	command -v "$sh" >/dev/null 2>&1 || continue
	expect_ok "$sh" sw-ben "NWD_AS=sw-ben . '$qs/env.sh'"
	expect_ok "$sh" plo-ana ". '$qs/env.sh'"
	expect_ok "$sh" stranger "NWD_AS=stranger; . '$qs/env.sh'"
	expect_refused "$sh" "NWD_AS=nobody-here . '$qs/env.sh'"
	expect_refused "$sh" "NWD_AS=nokey . '$qs/env.sh'"
	expect_refused "$sh" "NWD_AS=../clients/sw-ben . '$qs/env.sh'"
	expect_refused "$sh" "NWD_AS=-x . '$qs/env.sh'"
	expect_refused "$sh" "NWD_AS='sw ben' . '$qs/env.sh'"
done
# Shells whose "." passes arguments.
expect_ok bash sw-ben ". '$qs/env.sh' sw-ben"
expect_refused bash ". '$qs/env.sh' nobody-here"

if [ "$problems" -ne 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
echo "$prog: ok"
