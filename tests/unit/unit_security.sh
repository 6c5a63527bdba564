#!/usr/bin/env bash
# unit_security.sh: systemd/nwdd.service is a hardened notify service.
#
#   - "systemd-analyze security --offline=true --threshold=20" passes: the
#     unit's exposure is 2.0 or better (the score is printed);
#   - the same check fails on a bare unit, so a threshold that stopped
#     biting would be noticed;
#   - the unit is Type=notify with a watchdog, reloads with SIGHUP, and
#     hands nwdd its three private keys with LoadCredential=, never in
#     Environment= or on the command line.
#
# NWD_SRCDIR (default: this script's tree) names the sources; the unit
# checked is the one make writes from systemd/nwdd.service.in into
# NWD_BUILDDIR (default: the current directory).  Exit status:
# 0 pass, 1 fail (every problem is listed), 77 skip when systemd-analyze is
# not installed (deploy/test.sh installs it, so there it always runs).
set -euo pipefail

prog=unit_security.sh
: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
unit=${NWD_BUILDDIR:-$PWD}/systemd/nwdd.service

command -v systemd-analyze >/dev/null || {
	echo "$prog: systemd-analyze is not installed (apt-get install systemd); skipped"
	exit 77
}
[ -r "$unit" ] || { echo "$prog: $unit is missing" >&2; exit 1; }

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nwd-unit.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

# --- the exposure score ---------------------------------------------------------

rc=0
systemd-analyze security --offline=true --threshold=20 "$unit" >"$tmp/out" 2>&1 || rc=$?
score=$(grep -o 'Overall exposure level for nwdd.service: [0-9.]*' "$tmp/out" || true)
echo "$prog: ${score:-no score printed}"
if [ "$rc" -ne 0 ]; then
	cat "$tmp/out" >&2
	problem "systemd-analyze security: exposure above 2.0 (exit $rc)"
fi
[ -n "$score" ] || problem "systemd-analyze printed no overall exposure level"

# A bare service must fail the same check: the threshold bites.
cat >"$tmp/nwdd.service" <<EOF
[Service]
ExecStart=/usr/sbin/nwdd -c /etc/nwd/nwdd.conf
EOF
if systemd-analyze security --offline=true --threshold=20 "$tmp/nwdd.service" \
    >/dev/null 2>&1; then
	problem "a unit without any hardening passed --threshold=20"
fi

# --- what the unit must say --------------------------------------------------

# The value of KEY in [Service] (every one, a line each), comments dropped.
values() {
	awk -v key="$1" '
		/^\[/ { sec = $0; next }
		sec == "[Service]" && $0 !~ /^[ \t]*#/ {
			i = index($0, "=")
			if (i > 0 && substr($0, 1, i - 1) == key)
				print substr($0, i + 1)
		}' "$unit"
}

[ "$(values Type)" = notify ] || problem "Type= is \"$(values Type)\", not notify"
[ "$(values NotifyAccess)" = main ] || problem "NotifyAccess= is not main"
[ -n "$(values WatchdogSec)" ] || problem "no WatchdogSec="
case $(values ExecReload) in
*"kill -HUP \$MAINPID"*) ;;
*) problem "ExecReload= does not send SIGHUP to \$MAINPID" ;;
esac
for cred in tls.key body.key audit-signing.key; do
	values LoadCredential | grep -q "^$cred:/" ||
	    problem "no LoadCredential=$cred:PATH"
done
if values Environment | grep -qi 'key'; then
	problem "Environment= mentions a key"
fi
[ -z "$(values EnvironmentFile)" ] || problem "EnvironmentFile= is set"
if values ExecStart | grep -qi '\.key'; then
	problem "ExecStart= names a key file"
fi
[ -n "$(values User)" ] || problem "no User=: nwdd would start as root"

if [ "$problems" -gt 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
echo "$prog: ok"
