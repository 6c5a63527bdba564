#!/usr/bin/env bash
# check-install.sh: checks what "make install" installed.  Run by
# "make installcheck" (and so by "make distcheck"), which passes the
# installation directories in the environment:
#
#   make install DESTDIR=/tmp/root && make installcheck DESTDIR=/tmp/root
#
#   DESTDIR                 staging root (may be empty)
#   bindir sbindir libdir includedir mandir pkgdatadir docdir
#   sysusersdir tmpfilesdir
#   systemdsystemunitdir    empty if the unit is not installed
#   PACKAGE_VERSION CC NWD_SRCDIR
#
# Checks that the programs, the library, its headers and pkg-config file,
# the man pages, the SQL migrations (every deploy/sql/*.sql of the tree,
# byte for byte), nwd.proto, the sysusers.d and tmpfiles.d entries, the
# examples and the systemd unit (its paths substituted)
# are there; runs the installed nwdd and nwd; and builds and runs
# tests/install/smoke.c against the installed libnwd with nothing but
# "pkg-config --cflags --libs libnwd" (PKG_CONFIG_SYSROOT_DIR=DESTDIR).
# Writes only to a temporary directory.  Exit status 0 pass, 1 fail (every
# problem is listed).
set -euo pipefail

prog=check-install.sh
for v in bindir sbindir libdir includedir mandir pkgdatadir docdir \
    sysusersdir tmpfilesdir PACKAGE_VERSION CC NWD_SRCDIR; do
	[ -n "${!v:-}" ] || { echo "$prog: $v is not set (run me through 'make installcheck')" >&2; exit 99; }
done
D=${DESTDIR:-}
unitdir=${systemdsystemunitdir:-}

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nwd-installcheck.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

need_file() {
	[ -f "$D$1" ] && [ -s "$D$1" ] || problem "missing: $D$1"
}
need_exec() {
	[ -x "$D$1" ] || problem "missing or not executable: $D$1"
}

# --- the files -------------------------------------------------------------

need_exec "$sbindir/nwdd"
need_exec "$bindir/nwd"
need_exec "$sbindir/nwd-ca"
ls "$D$libdir"/libnwd.so.* >/dev/null 2>&1 || problem "missing: $D$libdir/libnwd.so.*"
[ -e "$D$libdir/libnwd.so" ] || problem "missing: $D$libdir/libnwd.so"
need_file "$includedir/nwd.h"
# Whatever nwd.h includes with quotes is installed beside it.
for h in $(sed -n 's/^#include "\(.*\)"/\1/p' "$D$includedir/nwd.h" 2>/dev/null); do
	need_file "$includedir/$h"
done
need_file "$libdir/pkgconfig/libnwd.pc"
for m in man1/nwd.1 man5/nwd-policy.5 man5/nwd-calendar.5 man5/nwdd.conf.5 \
    man8/nwdd.8 man8/nwd-ca.8; do
	need_file "$mandir/$m"
	cmp -s "$D$mandir/$m" "$NWD_SRCDIR/doc/${m#*/}" ||
	    problem "$D$mandir/$m differs from doc/${m#*/}"
done
nsql=0
for f in "$NWD_SRCDIR"/deploy/sql/*.sql; do
	nsql=$((nsql + 1))
	cmp -s "$f" "$D$pkgdatadir/sql/${f##*/}" ||
	    problem "migration ${f##*/} is not installed as $D$pkgdatadir/sql/${f##*/} (list it in dist_sql_DATA in Makefile.am)"
done
for f in "$D$pkgdatadir"/sql/*.sql; do
	[ -f "$NWD_SRCDIR/deploy/sql/${f##*/}" ] ||
	    problem "$f is installed but is not in deploy/sql/"
done
for f in nwdd.conf.example policy.nwd principals.conf calendar.conf \
    haproxy.cfg nwd-rules.yml nwd-dashboard.json; do
	need_file "$docdir/examples/$f"
done
need_file "$docdir/README.md"
cmp -s "$NWD_SRCDIR/proto/nwd.proto" "$D$pkgdatadir/nwd.proto" ||
    problem "proto/nwd.proto is not installed as $D$pkgdatadir/nwd.proto"
cmp -s "$NWD_SRCDIR/systemd/nwd.sysusers" "$D$sysusersdir/nwd.conf" ||
    problem "systemd/nwd.sysusers is not installed as $D$sysusersdir/nwd.conf"
cmp -s "$NWD_SRCDIR/systemd/nwd.tmpfiles" "$D$tmpfilesdir/nwd.conf" ||
    problem "systemd/nwd.tmpfiles is not installed as $D$tmpfilesdir/nwd.conf"

if [ -n "$unitdir" ]; then
	unit=$D$unitdir/nwdd.service
	need_file "$unitdir/nwdd.service"
	if [ -f "$unit" ]; then
		grep -q '@[a-z_]*@' "$unit" &&
		    problem "$unit: placeholders left: $(grep -o '@[a-z_]*@' "$unit" | sort -u | tr '\n' ' ')"
		grep -qx "ExecStart=$sbindir/nwdd .*" "$unit" ||
		    problem "$unit: ExecStart does not run $sbindir/nwdd"
		if command -v systemd-analyze >/dev/null; then
			# Only the unit's syntax: its binaries and user live on the
			# target system, not here.
			out=$(systemd-analyze verify --man=no --generators=no \
			    "$unit" 2>&1 | grep -E -i 'ignoring|unknown|invalid' || true)
			[ -z "$out" ] || problem "$unit: systemd-analyze verify: $out"
		fi
	fi
fi

# --- the installed programs --------------------------------------------------

export LD_LIBRARY_PATH="$D$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=$("$D$sbindir/nwdd" --version 2>&1) || true
[ "$out" = "nwdd $PACKAGE_VERSION" ] ||
    problem "$D$sbindir/nwdd --version says '$out', not 'nwdd $PACKAGE_VERSION'"
out=$("$D$bindir/nwd" --version 2>&1) || true
case $out in
"nwd $PACKAGE_VERSION "*) ;;
*) problem "$D$bindir/nwd --version says '$out'" ;;
esac
"$D$sbindir/nwd-ca" --help >/dev/null 2>&1 ||
    problem "$D$sbindir/nwd-ca --help failed"
out=$("$D$sbindir/nwdd" --check-policy "$D$docdir/examples/policy.nwd" 2>&1) ||
    problem "installed nwdd rejects the installed example policy: $out"
# The installed nwd uses the installed libnwd.
if command -v ldd >/dev/null; then
	lib=$(ldd "$D$bindir/nwd" | awk '$1 ~ /^libnwd\.so/ { print $3 }')
	[ "$(realpath "$lib" 2>/dev/null)" = "$(realpath "$D$libdir"/libnwd.so.* 2>/dev/null | head -n 1)" ] ||
	    problem "$D$bindir/nwd loads libnwd from '$lib', not from $D$libdir"
fi

# --- a program built against the installed library ---------------------------

export PKG_CONFIG_PATH="$D$libdir/pkgconfig"
[ -z "$D" ] || export PKG_CONFIG_SYSROOT_DIR="$D"
if ! ver=$(pkg-config --modversion libnwd 2>&1); then
	problem "pkg-config cannot read libnwd.pc: $ver"
else
	[ "$ver" = "$PACKAGE_VERSION" ] ||
	    problem "libnwd.pc says version $ver, not $PACKAGE_VERSION"
	cflags=$(pkg-config --cflags libnwd)
	libs=$(pkg-config --libs libnwd)
	case " $cflags " in
	*" -I$D$includedir "*) ;;
	*) [ "$includedir" = /usr/include ] ||
	    problem "pkg-config --cflags libnwd gives '$cflags', without -I$D$includedir" ;;
	esac
	# shellcheck disable=SC2086
	if ! $CC -Wall -Wextra -Werror -o "$tmp/smoke" \
	    "$NWD_SRCDIR/tests/install/smoke.c" $cflags $libs 2>"$tmp/cc.err"; then
		problem "smoke.c does not build with '$cflags $libs': $(cat "$tmp/cc.err")"
	elif ! out=$("$tmp/smoke" 2>&1); then
		problem "smoke failed: $out"
	else
		echo "$out"
	fi
fi

if [ "$problems" -gt 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
echo "$prog: ${D:-/}: programs, libnwd (pkg-config: $cflags $libs), 6 man pages, $nsql migrations, nwd.proto, sysusers.d and tmpfiles.d, examples${unitdir:+, nwdd.service}: ok"
