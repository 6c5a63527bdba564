#!/usr/bin/env bash
# quickstart.sh: build nwd and run it with a demo, from a fresh Debian 12.
#
#   deploy/quickstart.sh          install what is missing, build in build/,
#                                 start PostgreSQL and nwdd (state in
#                                 .quickstart/), run the demo, leave nwdd
#                                 running
#   deploy/quickstart.sh stop     stop nwdd and PostgreSQL
#   deploy/quickstart.sh clean    stop both and remove .quickstart/
#   deploy/quickstart.sh deps [PACKAGE...]
#                                 only install the missing build and run
#                                 dependencies (and the extra PACKAGEs)
#
# Running it again reuses what exists: the PKI, the database (restarted if
# stopped), the build (brought up to date), the ports of nwdd and of its
# metrics endpoint (.quickstart/ports); a running nwdd is restarted.
#
# Run as root, nwdd switches to the system user nwd-demo (created if
# missing), which owns the server key so that a reload (SIGHUP) can read
# it again; the quick start sends one and checks that it is not refused.
set -euo pipefail

prog=quickstart.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
qs=$root/.quickstart
build=$root/build
pgsh=$root/deploy/pg.sh
nwdd=$build/daemon/nwdd
nwd=$build/client/nwd
pidfile=$qs/nwdd.pid
log=$qs/nwdd.log
portsfile=$qs/ports
DEMO_USER=nwd-demo

PACKAGES="build-essential autoconf automake libtool pkg-config
libevent-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler libpq-dev
libcmocka-dev libjson-c-dev libsystemd-dev postgresql openssl"

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

# ---- dependencies -------------------------------------------------------------

# Installs the packages of $PACKAGES and "$@" that are not installed yet,
# running apt-get update once, and only if something is missing.
install_deps() {
	local p missing=()
	for p in $PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		    missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] ||
	    die "missing packages: ${missing[*]}; run this as root or install them with: apt-get install ${missing[*]}"
	command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get (this script expects Debian 12)"
	step "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	    die "apt-get install ${missing[*]} failed"
}

# ---- build ------------------------------------------------------------------------

do_build() {
	step "building in build/ (log: .quickstart/build.log)"
	[ ! -f "$root/config.status" ] ||
	    die "$root is configured in place; run 'make distclean' there first (the build goes to build/)"
	mkdir -p "$qs" "$root/m4" "$build"
	: >"$qs/build.log"
	if [ ! -x "$root/configure" ]; then
		(cd "$root" && autoreconf -fi) >>"$qs/build.log" 2>&1 ||
		    { tail -n 30 "$qs/build.log" >&2; die "autoreconf failed (see .quickstart/build.log)"; }
	fi
	if [ ! -f "$build/Makefile" ]; then
		(cd "$build" && ../configure) >>"$qs/build.log" 2>&1 ||
		    { tail -n 30 "$qs/build.log" >&2; die "configure failed (see .quickstart/build.log)"; }
	fi
	make -C "$build" -j2 >>"$qs/build.log" 2>&1 ||
	    { tail -n 40 "$qs/build.log" >&2; die "the build failed (see .quickstart/build.log)"; }
	[ -x "$nwdd" ] && [ -x "$nwd" ] || die "the build made no $nwdd or $nwd"
}

# ---- nwdd -----------------------------------------------------------------------------

# Prints the pid of the nwdd that the pid file names, if it still runs.
nwdd_pid() {
	local pid
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
	    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'nwdd' || return 1
	echo "$pid"
}

stop_nwdd() {
	local pid
	if pid=$(nwdd_pid); then
		echo "stopping nwdd (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		# nwdd is not our child here, so wait(2) cannot tell us when it
		# exits; tail --pid checks every 0.1 s, for at most 30 s.
		if ! timeout 30 tail --pid="$pid" -s 0.1 -f /dev/null; then
			echo "nwdd (pid $pid) did not exit within 30 s of SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

start_nwdd() {
	local pid line=""
	step "starting nwdd (log: .quickstart/nwdd.log)"
	rm -f "$qs/ready"
	mkfifo "$qs/ready"
	echo "---- $(date -u '+%Y-%m-%d %H:%M:%S') quickstart starts nwdd" >>"$log"
	# The shell opens the FIFO for writing (blocking until we open it for
	# reading below) before anything else can fail, so the read cannot hang;
	# nwdd writes READY to it once it serves, and EOF means it exited.
	# setsid: nwdd outlives this script and the terminal it ran in.
	setsid "$nwdd" -c "$qs/nwdd.conf" --ready-fd 3 3>"$qs/ready" \
	    </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	if ! read -r -t 30 line <"$qs/ready" || [ "$line" != READY ]; then
		rm -f "$qs/ready"
		kill -TERM "$pid" 2>/dev/null || true
		rm -f "$pidfile"
		echo "last lines of $log:" >&2
		tail -n 25 "$log" | sed 's/^/    /' >&2
		die "nwdd did not become ready${line:+ (it wrote '$line')}"
	fi
	rm -f "$qs/ready"
	echo "nwdd is ready (pid $pid) on 127.0.0.1:$listen_port"
}

# Sends SIGHUP and waits (at most 30 s) for the reload to finish; dies,
# naming the cause, if nwdd refused any of the files it reloads.
check_reload() {
	local pid mark lines
	step "checking that a reload (SIGHUP) is accepted"
	pid=$(nwdd_pid) || die "nwdd is not running"
	mark=$(wc -c <"$log")
	kill -HUP "$pid"
	# The log is the only signal nwdd gives outside systemd: read what it
	# wrote since the mark, every 0.1 s, until reload_done appears.
	for _ in $(seq 300); do
		lines=$(tail -c "+$((mark + 1))" "$log")
		case $lines in *event=reload_done*) break ;; esac
		sleep 0.1
	done
	case $lines in
	*event=reload_done*) ;;
	*) die "nwdd did not finish a reload within 30 s (see .quickstart/nwdd.log)" ;;
	esac
	if printf '%s\n' "$lines" | grep -E 'event=(tls_)?reload_refused' >&2; then
		die "nwdd refused to reload the files above"
	fi
	echo "reload accepted"
}

# Waits (at most 30 s) for nwdd to sign an audit checkpoint after the log's
# byte offset $1, so that nwd audit verify has a signature to check.
wait_checkpoint() {
	local mark=$1
	for _ in $(seq 300); do
		tail -c "+$((mark + 1))" "$log" | grep -q 'event=checkpoint ' && return 0
		sleep 0.1
	done
	die "nwdd signed no audit checkpoint within 30 s (see .quickstart/nwdd.log)"
}

# ---- the daemon's user and its files ------------------------------------------------

# As root: the system user nwd-demo, which nwdd becomes, owns the server key
# (a key must not be readable by group or others) so that a reload can read
# it, and can reach every file a reload reads (only the search bit is added
# to directories on the way, never read or write).
prepare_daemon_user() {
	local f a
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id -u "$DEMO_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    --comment "nwd quick start daemon" "$DEMO_USER" ||
		    die "could not create the system user $DEMO_USER"
	fi
	chown "$DEMO_USER:$DEMO_USER" "$qs/pki/server.key"
	chmod 0600 "$qs/pki/server.key"
	for f in "$qs/pki/server.crt" "$qs/pki/server.key" "$qs/pki/ca.crt" \
	    "$qs/pki/ca.crl" "$root/deploy/principals.conf" \
	    "$root/deploy/policy.nwd" "$root/deploy/calendar.conf"; do
		a=$(dirname "$f")
		while [ "$a" != / ]; do
			runuser -u "$DEMO_USER" -- test -x "$a" 2>/dev/null || {
				echo "adding o+x to $a so that $DEMO_USER can reach $f"
				chmod o+x "$a"
			}
			a=$(dirname "$a")
		done
		runuser -u "$DEMO_USER" -- test -r "$f" ||
		    die "$DEMO_USER cannot read $f, which nwdd reads again on reload"
	done
}

# ---- ports ------------------------------------------------------------------------

# Sets listen_port and metrics_port: those of .quickstart/ports when they
# are free (nwdd is stopped by now), else new ones, kept for the next run.
choose_ports() {
	local want_listen="" want_metrics=""
	if [ -f "$portsfile" ]; then
		read -r want_listen want_metrics <"$portsfile" || true
	fi
	listen_port=$("$pgsh" freeport "${want_listen:-7443}")
	metrics_port=$("$pgsh" freeport "${want_metrics:-9464}")
	if [ -n "$want_listen" ] && [ "$listen_port" != "$want_listen" ]; then
		echo "port $want_listen is taken now: nwdd listens on $listen_port instead"
	fi
	if [ -n "$want_metrics" ] && [ "$metrics_port" != "$want_metrics" ]; then
		echo "port $want_metrics is taken now: metrics on $metrics_port instead"
	fi
	echo "$listen_port $metrics_port" >"$portsfile"
}

# ---- PostgreSQL ---------------------------------------------------------------------

start_pg() {
	step "PostgreSQL in .quickstart/pg"
	if [ -f "$qs/pg/port" ]; then
		"$pgsh" start "$qs/pg" ||
		    die "could not start the existing cluster in $qs/pg; 'deploy/quickstart.sh clean' starts afresh"
	else
		local p rc
		"$pgsh" destroy "$qs/pg"
		for _ in 1 2 3 4 5; do
			p=$("$pgsh" freeport)
			rc=0
			"$pgsh" init "$qs/pg" "$p" || rc=$?
			[ $rc -eq 3 ] || break # 3: the port was taken meanwhile
		done
		[ $rc -eq 0 ] || die "could not create PostgreSQL in $qs/pg"
	fi
	pg_port=$(cat "$qs/pg/port")
}

# ---- the demo ---------------------------------------------------------------------

# nwd_as PRINCIPAL NWD-ARGS...: runs nwd with that principal's certificate.
nwd_as() {
	local who=$1
	shift
	NWD_CERT=$qs/pki/clients/$who.crt NWD_KEY=$qs/pki/clients/$who.key \
	    "$nwd" "$@"
}

uuid_in() {
	grep -oE '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}' |
	    head -n 1
}

show_audit() {
	local id=$1 rel tcol ttype at
	# The audit relation the auditor may read, and its time column.
	rel=$("$pgsh" psql "$qs/pg" nwd_auditor -XAtq -c "
	    SELECT format('%I.%I', table_schema, table_name)
	    FROM information_schema.columns
	    WHERE column_name = 'message_id' AND table_name LIKE '%audit%'
	      AND table_schema NOT IN ('pg_catalog', 'information_schema')
	    ORDER BY table_name LIMIT 1") || rel=""
	if [ -z "$rel" ]; then
		echo "(the auditor role can read no audit table yet)"
		return 0
	fi
	read -r tcol ttype < <("$pgsh" psql "$qs/pg" nwd_auditor -XAtq -F ' ' -c "
	    SELECT column_name, data_type FROM information_schema.columns
	    WHERE format('%I.%I', table_schema, table_name) = '$rel'
	      AND column_name IN ('at', 'at_ms', 'created_at', 'ts')
	    ORDER BY array_position(ARRAY['at', 'at_ms', 'created_at', 'ts'],
	      column_name::text) LIMIT 1") || true
	case ${ttype:-} in
	bigint | integer) at="to_char(to_timestamp($tcol / 1000.0), 'HH24:MI:SS.MS')" ;;
	'') at="NULL" ;;
	*) at="to_char($tcol, 'HH24:MI:SS.MS')" ;;
	esac
	"$pgsh" psql "$qs/pg" nwd_auditor -Xq -P pager=off -c "
	    SELECT $at AS at, actor, action, recipient, rule, reason
	    FROM $rel WHERE message_id::text = '$id'
	    ORDER BY ${tcol:-1}"
}

demo() {
	local sub_fd sub_pid line="" subscribed=0 push_out id rc mark
	export NWD_SERVER=127.0.0.1:$listen_port NWD_CA=$qs/pki/ca.crt
	mark=$(wc -c <"$log")

	step "demo: case-system allocates YP-001 to hub:norwich"
	printf '{"team": "hub:norwich"}\n' |
	    nwd_as case-system push allocation --subject YP-001 --marking OFFICIAL - ||
	    die "case-system could not publish the allocation (see .quickstart/nwdd.log)"

	step "demo: hubsys-norwich subscribes to risk alerts on YP-001"
	# nwd sub says "subscribed" on stderr (read here through a pipe) once
	# the subscription is live, and prints the delivery on stdout.
	exec {sub_fd}< <(exec env NWD_CERT="$qs/pki/clients/hubsys-norwich.crt" \
	    NWD_KEY="$qs/pki/clients/hubsys-norwich.key" "$nwd" sub \
	    --kind risk_alert --subject YP-001 --count 1 --idle-exit 30 \
	    2>&1 >"$qs/demo-delivery.json")
	sub_pid=$!
	while read -r -t 30 -u "$sub_fd" line; do
		echo "  $line"
		case $line in
		*subscribed*) subscribed=1; break ;;
		esac
	done
	[ $subscribed -eq 1 ] || die "hubsys-norwich's subscription did not become live"

	step "demo: plo-ana raises a RiskAlert (criminal exploitation, high) on YP-001"
	push_out=$(printf '%s\n' '{"category": "CRIMINAL_EXPLOITATION", "level": "HIGH",
	    "summary": "Demo: YP-001 seen getting into cars with older males near the station; possible county lines."}' |
	    nwd_as plo-ana push risk_alert --subject YP-001 --marking OFFICIAL \
	    --priority HIGH -) || die "plo-ana's push failed (see .quickstart/nwdd.log)"
	echo "$push_out" | sed 's/^/  /'

	step "demo: what hubsys-norwich received"
	# EOF on the pipe: nwd sub has exited (after one delivery, or 30 s
	# without one).
	while read -r -u "$sub_fd" line; do echo "  $line"; done
	exec {sub_fd}<&-
	rc=0
	wait "$sub_pid" || rc=$?
	[ -s "$qs/demo-delivery.json" ] || die "hubsys-norwich received nothing (nwd sub exited $rc)"
	cat "$qs/demo-delivery.json"

	id=$(printf '%s\n' "$push_out" | uuid_in || true)
	[ -n "$id" ] || id=$(uuid_in <"$qs/demo-delivery.json" || true)
	[ -n "$id" ] || die "found no message id in the push's answer or the delivery"
	step "demo: the audit trail of message $id (as nwd_auditor)"
	show_audit "$id"
	step "demo: the audit hash chain and its signed checkpoints verify"
	# Rows past the last signed checkpoint are vouched for by none: wait
	# for the one that covers the demo (checkpoint_interval is 5 s here).
	wait_checkpoint "$mark"
	"$build/client/nwd" audit verify \
	    --db "host=127.0.0.1 port=$pg_port dbname=nwd user=nwd_auditor" \
	    --pubkey "$qs/pki/audit-signing.pub" | sed 's/^/  /' ||
	    die "nwd audit verify found a problem"
}

# .quickstart/env.sh from deploy/quickstart-env.sh.in.
write_env() {
	sed -e "s|@QS@|$qs|g" -e "s|@BUILD@|$build|g" -e "s|@PORT@|$listen_port|g" \
	    "$root/deploy/quickstart-env.sh.in" >"$qs/env.sh"
}

# ---- commands ---------------------------------------------------------------------

cmd_up() {
	install_deps
	do_build
	step "demo PKI in .quickstart/pki"
	"$root/deploy/gen-pki.sh" "$qs/pki"
	start_pg
	stop_nwdd

	[ -f "$root/deploy/policy.nwd" ] || die "deploy/policy.nwd is missing"
	choose_ports
	prepare_daemon_user
	# nwdd refuses a configuration others can read (it may hold a
	# password), and refuses to serve as root without a user to become.
	# Checkpoints every 5 s, so that the demo's rows are signed quickly.
	(umask 077 && sed -e "s|^listen = .*|listen = 127.0.0.1:$listen_port|" \
	    -e "s|^#metrics_listen = .*|metrics_listen = 127.0.0.1:$metrics_port|" \
	    -e "s|^#checkpoint_interval = .*|checkpoint_interval = 5|" \
	    -e "s|port=5432 |port=$pg_port |g" \
	    "$root/deploy/nwdd.conf.example" >"$qs/nwdd.conf")
	grep -q "^metrics_listen = 127.0.0.1:$metrics_port\$" "$qs/nwdd.conf" ||
	    die "deploy/nwdd.conf.example has no '#metrics_listen = ' line to turn on"
	[ "$(id -u)" != 0 ] || echo "user = $DEMO_USER" >>"$qs/nwdd.conf"
	"$nwdd" --check-config -c "$qs/nwdd.conf" || die "nwdd refuses .quickstart/nwdd.conf"
	step "applying the database migrations"
	"$nwdd" --migrate -c "$qs/nwdd.conf" 2>&1 | tee -a "$log" ||
	    die "nwdd --migrate failed"
	start_nwdd
	write_env
	check_reload
	demo

	cat <<EOF

nwdd runs on 127.0.0.1:$listen_port (pid $(cat "$pidfile"), log .quickstart/nwdd.log);
its metrics on http://127.0.0.1:$metrics_port/metrics and /healthz;
PostgreSQL on 127.0.0.1:$pg_port (data in .quickstart/pg).

Use nwd as any demo principal (plo-ana, hubsys-norwich, hubsys-dereham,
keyworker-kim, sw-ben, camhs-cara, case-system, duty-mash, auditor-dan):

  export PATH="$build/client:\$PATH"
  export NWD_SERVER=127.0.0.1:$listen_port
  export NWD_CA="$qs/pki/ca.crt"
  export NWD_CERT="$qs/pki/clients/sw-ben.crt"
  export NWD_KEY="$qs/pki/clients/sw-ben.key"
  nwd whoami

or, the same in one line:  NWD_AS=sw-ben . .quickstart/env.sh
(in bash, zsh or ksh also:  . .quickstart/env.sh sw-ben)

Read the audit trail:  deploy/pg.sh psql .quickstart/pg nwd_auditor
Verify it:             nwd audit verify --db "host=127.0.0.1 port=$pg_port dbname=nwd user=nwd_auditor" --pubkey .quickstart/pki/audit-signing.pub
Stop nwdd and PostgreSQL:  deploy/quickstart.sh stop
Remove everything:         deploy/quickstart.sh clean
EOF
}

cmd_stop() {
	stop_nwdd
	if [ -f "$qs/pg/data/PG_VERSION" ]; then
		"$pgsh" stop "$qs/pg"
		echo "PostgreSQL stopped"
	fi
}

cmd_clean() {
	stop_nwdd
	if [ -e "$qs/pg" ]; then
		"$pgsh" destroy "$qs/pg"
	fi
	rm -rf -- "$qs"
	echo "removed .quickstart/"
}

case ${1:-up} in
up) [ $# -le 1 ] || die "usage: $0 [up|stop|clean|deps [PACKAGE...]]"; cmd_up ;;
stop) cmd_stop ;;
clean) cmd_clean ;;
deps) shift; install_deps "$@" ;;
-h | --help | help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" ;;
*) die "unknown command '$1' (up, stop, clean or deps)" ;;
esac
