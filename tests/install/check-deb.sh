#!/usr/bin/env bash
# check-deb.sh: builds the Debian packages from a copy of the tree and checks
# them installed.  Run by deploy/test.sh as one test (NWD_DEB=0 skips it
# there); runnable alone, as root, on Debian 12 with the build dependencies
# of debian/control, lintian, easy-rsa and PostgreSQL's server:
#
#   tests/install/check-deb.sh [WORKDIR]
#
# WORKDIR (default: a temporary directory, removed afterwards) receives the
# copy, the .deb files and the scratch root.
#
#   1. copies the tree (git's files, tracked and untracked but not ignored;
#      no build directory) and runs "dpkg-buildpackage -us -uc -b" in it
#   2. lintian on the .changes: an error fails, warnings are printed
#   3. installs the four packages into a scratch root with
#      "dpkg --root=ROOT --force-script-chrootless": the packages' own
#      maintainer scripts run with DPKG_ROOT=ROOT, so systemd-sysusers and
#      systemd-tmpfiles make the nwd user and /var/lib/nwd inside ROOT, and
#      nothing of this machine changes (no user, no file outside WORKDIR)
#   4. checks the files each package holds, the nwd user and group in
#      ROOT/etc/passwd and group, ROOT/var/lib/nwd (nwd:nwd, 0750)
#   5. runs the installed programs (with ROOT's libnwd): nwdd --version,
#      nwd --help, nwd-ca --help, and, against a throwaway PostgreSQL
#      (deploy/pg.sh), nwdd --migrate with the installed migrations and
#      nwdd --check-config with a configuration written for them (the
#      installed example policy and principals, deploy/gen-pki.sh's keys)
#
# Exit status 0 pass, 1 fail (the problems are listed), 77 skip (not root,
# or no dpkg-buildpackage).
set -euo pipefail

prog=check-deb.sh
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "$prog: skipped: dpkg --root installs as root"; exit 77; }
command -v dpkg-buildpackage >/dev/null ||
    { echo "$prog: skipped: no dpkg-buildpackage (apt-get install dpkg-dev debhelper)"; exit 77; }
for c in lintian systemd-sysusers systemd-tmpfiles git; do
	command -v "$c" >/dev/null || die "the $c command is missing"
done

if [ $# -ge 1 ]; then
	work=$(realpath -m -- "$1")
	mkdir -p "$work"
	keep=1
else
	work=$(mktemp -d "${NWD_TEST_TMPROOT:-${TMPDIR:-/tmp}}/nwd-deb.XXXXXX")
	keep=0
fi
pgdir=$work/pg
cleanup() {
	local rc=$?
	[ ! -d "$pgdir" ] || "$src/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
	[ "$keep" = 1 ] || rm -rf -- "$work"
	exit "$rc"
}
trap cleanup EXIT

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

# --- 1. build ------------------------------------------------------------------

tree=$work/nwd
rm -rf "$tree" "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work/root"
mkdir -p "$tree"
# What autoreconf or a build made in the source tree stays behind: the
# package runs autoreconf itself (dh_autoreconf).
(cd "$src" && { git ls-files; git ls-files --others --exclude-standard; } |
    sort -u | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done |
    grep -v -x -E 'configure|(build-aux|m4|autom4te\.cache)/.*|(.*/)?Makefile\.in|aclocal\.m4' |
    tar -cf - -T -) | tar -xf - -C "$tree"
echo "$prog: dpkg-buildpackage -us -uc -b (log: $work/build.log)"
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "dpkg-buildpackage failed"
fi
version=$(cd "$tree" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
multiarch=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
debs=()
for p in nwdd nwd libnwd2 libnwd-dev; do
	f=$work/${p}_${version}_$arch.deb
	[ -f "$f" ] || die "dpkg-buildpackage made no $f"
	debs+=("$f")
done

# --- 2. lintian ------------------------------------------------------------------

changes=$work/nwd_${version}_$arch.changes
lintian --fail-on error "$changes" >"$work/lintian.out" 2>&1 ||
    problem "lintian reports errors: $(grep '^E:' "$work/lintian.out" | tr '\n' ' ')"
grep -E '^(E|W):' "$work/lintian.out" || true
echo "$prog: lintian: $(grep -c '^E:' "$work/lintian.out" || true) errors, $(grep -c '^W:' "$work/lintian.out" || true) warnings"

# --- 3. install into a scratch root -----------------------------------------------------

R=$work/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
# The scratch root has no other package: its dependencies are this machine's.
if ! dpkg --root="$R" --force-script-chrootless --force-depends \
    --log="$work/dpkg.log" -i "${debs[@]}" >"$work/install.log" 2>&1; then
	cat "$work/install.log" >&2
	die "dpkg -i into $R failed"
fi
for p in nwdd nwd libnwd2 libnwd-dev; do
	st=$(dpkg --root="$R" -s "$p" 2>/dev/null | sed -n 's/^Status: //p')
	[ "$st" = "install ok installed" ] || problem "$p: status '$st' in $R"
done

# --- 4. the files, the user and the state directory --------------------------------------

need() {
	local p=$1 f
	shift
	for f in "$@"; do
		[ -e "$R$f" ] || { problem "$p: missing $f"; continue; }
		dpkg --root="$R" -S "$f" 2>/dev/null | grep -E "^$p(:[a-z0-9]+)?: " >/dev/null ||
		    problem "$f is not in package $p"
	done
}
need nwdd /usr/sbin/nwdd /usr/sbin/nwd-ca /lib/systemd/system/nwdd.service \
    /usr/lib/sysusers.d/nwd.conf /usr/lib/tmpfiles.d/nwd.conf \
    /usr/share/man/man8/nwdd.8.gz /usr/share/man/man8/nwd-ca.8.gz \
    /usr/share/man/man5/nwdd.conf.5.gz /usr/share/man/man5/nwd-policy.5.gz \
    /usr/share/man/man5/nwd-calendar.5.gz \
    /usr/share/doc/nwdd/examples/nwdd.conf.example \
    /usr/share/doc/nwdd/examples/policy.nwd \
    /usr/share/doc/nwdd/examples/principals.conf
for f in "$src"/deploy/sql/*.sql; do
	cmp -s "$f" "$R/usr/share/nwd/sql/${f##*/}" ||
	    problem "nwdd: migration ${f##*/} is not installed as /usr/share/nwd/sql/${f##*/}"
done
need nwd /usr/bin/nwd /usr/share/man/man1/nwd.1.gz \
    /usr/share/doc/nwd/examples/sar-labels.conf
[ ! -e "$src/client/nwd.bash-completion" ] ||
    need nwd /usr/share/bash-completion/completions/nwd
need libnwd2 /usr/lib/"$multiarch"/libnwd.so.2
need libnwd-dev /usr/include/nwd.h /usr/include/nwd.pb-c.h \
    /usr/lib/"$multiarch"/libnwd.so /usr/lib/"$multiarch"/pkgconfig/libnwd.pc \
    /usr/share/nwd/nwd.proto
unit=$R/lib/systemd/system/nwdd.service
grep -qx 'ExecStart=/usr/sbin/nwdd -c /etc/nwd/nwdd.conf' "$unit" ||
    problem "nwdd.service: ExecStart is not '/usr/sbin/nwdd -c /etc/nwd/nwdd.conf'"
# Installed, but neither enabled nor started (it needs configuring first).
[ -z "$(find "$R/etc" -name 'nwdd.service' 2>/dev/null)" ] ||
    problem "nwdd.service is enabled in $R/etc"

# The postinst ran systemd-sysusers and systemd-tmpfiles inside ROOT.
pw=$(grep '^nwd:' "$R/etc/passwd" || true)
[ -n "$pw" ] || problem "no nwd user in $R/etc/passwd (systemd-sysusers did not run)"
grep -q '^nwd:' "$R/etc/group" 2>/dev/null || problem "no nwd group in $R/etc/group"
uid=$(printf '%s' "$pw" | cut -d: -f3)
[ -z "$pw" ] || [ "$(printf '%s' "$pw" | cut -d: -f7)" = /usr/sbin/nologin ] ||
    problem "the nwd user's shell is not /usr/sbin/nologin: $pw"
if [ ! -d "$R/var/lib/nwd" ]; then
	problem "no $R/var/lib/nwd (systemd-tmpfiles did not run)"
else
	st=$(stat -c '%a %u' "$R/var/lib/nwd")
	[ "$st" = "750 $uid" ] ||
	    problem "$R/var/lib/nwd is '$st' (mode, owner), not '750 $uid'"
fi

# --- 5. the installed programs ----------------------------------------------------------

export LD_LIBRARY_PATH=$R/usr/lib/$multiarch
nwdd=$R/usr/sbin/nwdd
nwd=$R/usr/bin/nwd
out=$("$nwdd" --version 2>&1) || true
[ "$out" = "nwdd ${version%%-*}" ] || problem "installed nwdd --version says '$out'"
"$nwd" --help >"$work/nwd-help.out" 2>&1 || problem "installed nwd --help failed: $(head -n 3 "$work/nwd-help.out")"
grep -q -i 'usage' "$work/nwd-help.out" || problem "installed nwd --help prints no usage"
out=$("$R/usr/sbin/nwd-ca" --help 2>&1) || problem "installed nwd-ca --help failed: $out"
ldd "$nwd" | grep >/dev/null "$R/usr/lib/$multiarch/libnwd.so" ||
    problem "the installed nwd does not load the installed libnwd"

# A configuration for the installed files: the example policy and
# principals, a demo PKI, a throwaway PostgreSQL, the installed migrations.
pki=$work/pki
"$src/deploy/gen-pki.sh" "$pki" >/dev/null || die "gen-pki.sh failed"
port=$("$src/deploy/pg.sh" freeport) || die "no free port for PostgreSQL"
"$src/deploy/pg.sh" init "$pgdir" "$port" >"$work/pg.log" 2>&1 ||
    { cat "$work/pg.log" >&2; die "could not start PostgreSQL"; }
port=$(cat "$pgdir/port")
ex=$R/usr/share/doc/nwdd/examples
conf=$work/nwdd.conf
cat >"$conf" <<EOF
instance = nwdd-deb
listen = 127.0.0.1:7443
tls_cert = $pki/server.crt
tls_key = $pki/server.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
body_key = $pki/body.key
audit_signing_key = $pki/audit-signing.key
state_directory = $work/state
principals = $ex/principals.conf
policy = $ex/policy.nwd
calendar = $ex/calendar.conf
database = host=127.0.0.1 port=$port dbname=nwd user=nwd_daemon
migrate_database = host=127.0.0.1 port=$port dbname=nwd user=nwd_owner
migrations = $R/usr/share/nwd/sql
EOF
chmod 600 "$conf"
out=$("$nwdd" --migrate -c "$conf" 2>&1) || problem "installed nwdd --migrate failed: $out"
n=$(ls "$R"/usr/share/nwd/sql/*.sql | wc -l)
[ "$(printf '%s\n' "$out" | tail -n 1)" = "nwdd: $n migrations applied" ] ||
    problem "installed nwdd --migrate ends '$(printf '%s\n' "$out" | tail -n 1)', not 'nwdd: $n migrations applied'"
out=$("$nwdd" --check-config -c "$conf" 2>&1) ||
    problem "installed nwdd --check-config refuses the configuration: $out"

if [ "$problems" -gt 0 ]; then
	echo "$prog: $problems problem(s) (files kept in $work)" >&2
	keep=1
	exit 1
fi
echo "$prog: ${#debs[@]} packages built, lintian clean of errors, installed into a scratch root: files, nwd user, /var/lib/nwd, nwdd --migrate ($n), --check-config, nwd --help, nwd-ca --help: ok"
