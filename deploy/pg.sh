#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL cluster for the quick start and the tests.
#
#   deploy/pg.sh init DIR PORT        create DIR/data, start it, create the
#                                     nwd roles and database, write DIR/port
#   deploy/pg.sh start DIR            start an existing cluster (waits)
#   deploy/pg.sh stop DIR [immediate] stop it (waits); fast shutdown unless
#                                     "immediate" is given
#   deploy/pg.sh status DIR           exit 0 if running, 3 if stopped
#   deploy/pg.sh destroy DIR          stop it (immediate) and remove DIR
#   deploy/pg.sh psql DIR [ROLE] [psql args...]
#                                     psql to database nwd as ROLE (default
#                                     postgres) over the cluster's socket
#   deploy/pg.sh freeport [PORT]      print a free loopback TCP port: PORT if
#                                     nothing listens on it, else any
#   deploy/pg.sh standby DIR PORT     a synchronous streaming standby of the
#                                     cluster in DIR, in DIR/standby on
#                                     127.0.0.1:PORT (pg_basebackup -R, a
#                                     replication slot); waits until the
#                                     primary reports it "sync"
#   deploy/pg.sh promote DIR          promote the standby in DIR (waits)
#
# The standby: the primary gets synchronous_standby_names = 'nwd_standby'
# (ALTER SYSTEM, after the base backup, so that the standby does not copy
# it: once promoted it has no standby of its own to wait for), so that a
# commit the primary acknowledges is flushed on the standby too.  "destroy"
# removes the standby with its primary.
#
# The cluster listens on 127.0.0.1:PORT only, keeps its Unix socket in DIR
# (nothing goes to /var/run/postgresql), trusts every local connection (it
# is throwaway and loopback-only) and runs with fsync and synchronous_commit
# on.  Run as root, it runs as the system user nwd-pg (created if missing),
# never as root.
#
# Exit status: 0 on success, 1 on error, 2 on bad usage, 3 from "init" when
# PORT is already taken (the caller may pick another port and retry) and
# from "status" when the cluster is not running.
set -euo pipefail

prog=pg.sh
PG_USER=nwd-pg
EXIT_PORT_BUSY=3

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

# usage [STATUS]: the header above; to stdout and exit 0 when asked for,
# else to stderr and exit 2.
usage() {
	if [ "${1:-2}" -eq 0 ]; then
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
	else
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
	fi
	exit "${1:-2}"
}

# The newest PostgreSQL server installed the Debian way
# (/usr/lib/postgresql/VERSION/bin).
find_pgbin() {
	local v
	v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' \
	    2>/dev/null | sed 's|^/usr/lib/postgresql/||; s|/bin/initdb$||' |
	    sort -V | tail -n 1)
	[ -n "$v" ] || die "no PostgreSQL server found under /usr/lib/postgresql (install it with: apt-get install postgresql)"
	PGBIN=/usr/lib/postgresql/$v/bin
}

# Runs a command as the cluster's owner: nwd-pg when we are root, else us.
# The working directory is / so that the server never depends on being able
# to read the caller's directory.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u "$PG_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

ensure_pg_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id -u "$PG_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    --comment "nwd throwaway PostgreSQL" "$PG_USER" ||
		    die "could not create the system user $PG_USER"
	fi
}

# Makes every ancestor of $1 searchable by nwd-pg.  mktemp -d makes 0700
# directories owned by root, which the server could not reach otherwise.
# Only the search (x) bit is added, never read or write.
make_traversable() {
	[ "$(id -u)" -eq 0 ] || return 0
	local path=$1 a=""
	local IFS=/
	local parts
	read -r -a parts <<<"${path#/}"
	for p in "${parts[@]}"; do
		a="$a/$p"
		[ -d "$a" ] || break
		if ! runuser -u "$PG_USER" -- test -x "$a" 2>/dev/null; then
			note "adding o+x to $a so that $PG_USER can reach $path"
			chmod o+x "$a"
		fi
	done
}

abspath() { realpath -m -- "$1"; }

# port_in_use PORT [listen]: 0 if a TCP socket on this machine (IPv4 or
# IPv6) has local port PORT, in any state, or only listening ones if
# "listen" is given.  Read from /proc so that it works without iproute2.
# A port that only closed connections (TIME_WAIT) hold is no obstacle to
# the server, which binds with SO_REUSEADDR, so start and init only look
# for listeners.
port_in_use() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" -v only_listen="${2:-}" 'FNR > 1 {
	    split($2, a, ":")
	    if (a[2] == p && (only_listen == "" || $4 == "0A")) { found = 1; exit }
	} END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

check_port() {
	case $1 in
	'' | *[!0-9]*) die "port must be a number, not '$1'" ;;
	esac
	[ "$1" -ge 1024 ] && [ "$1" -le 65535 ] || die "port $1 is out of range (1024-65535)"
}

need_cluster() {
	[ -f "$DIR/data/PG_VERSION" ] ||
	    die "$DIR holds no cluster (no $DIR/data/PG_VERSION); create one with: $0 init $DIR PORT"
}

read_port() {
	[ -r "$DIR/port" ] || die "$DIR/port is missing; was $DIR made by '$0 init'?"
	PORT=$(cat "$DIR/port")
	check_port "$PORT"
}

is_running() {
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

log_tail() {
	if [ -r "$DIR/postgres.log" ]; then
		note "last lines of $DIR/postgres.log:"
		tail -n 15 "$DIR/postgres.log" | sed 's/^/    /' >&2
	fi
}

pg_start() {
	if is_running; then
		note "already running on 127.0.0.1:$PORT ($DIR)"
		return 0
	fi
	if port_in_use "$PORT" listen; then
		note "port $PORT on this machine is already in use; cannot start the cluster in $DIR"
		return "$EXIT_PORT_BUSY"
	fi
	# -w: pg_ctl returns once the server accepts connections (or failed).
	if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" \
	    -w -t 60 -s start; then
		log_tail
		if grep -q 'Address already in use' "$DIR/postgres.log" 2>/dev/null; then
			note "port $PORT is already in use"
			return "$EXIT_PORT_BUSY"
		fi
		note "could not start PostgreSQL in $DIR"
		return 1
	fi
}

pg_stop() {
	local mode=${1:-fast}
	is_running || return 0
	# -w: returns once the server has exited.
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m "$mode" -w -t 60 -s stop ||
	    { log_tail; die "could not stop PostgreSQL in $DIR"; }
}

psql_as() {
	local role=$1
	shift
	PGCONNECT_TIMEOUT=10 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
	    -h "$DIR" -p "$PORT" -U "$role" "$@"
}

cmd_init() {
	[ $# -eq 2 ] || usage
	DIR=$(abspath "$1")
	PORT=$2
	check_port "$PORT"
	[ ${#DIR} -le 80 ] ||
	    die "$DIR is too long to hold the server's Unix socket (at most 80 characters)"
	[ ! -e "$DIR/data" ] ||
	    die "$DIR/data already exists: use '$0 start $DIR', or '$0 destroy $DIR' first"
	if port_in_use "$PORT" listen; then
		note "port $PORT is already in use; pick another (e.g. $0 freeport)"
		exit "$EXIT_PORT_BUSY"
	fi
	ensure_pg_user
	mkdir -p "$DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_USER:$PG_USER" "$DIR"
		chmod 0755 "$DIR"
		make_traversable "$DIR"
	fi

	# From here on a failure removes what init made, so that the caller can
	# retry with the same DIR.
	trap 'rc=$?; if [ $rc -ne 0 ]; then (pg_stop immediate) 2>/dev/null || true; rm -rf "$DIR/data" "$DIR/port"; fi' EXIT

	if ! as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust \
	    --encoding=UTF8 --locale=C --no-sync --no-instructions \
	    >"$DIR/initdb.log" 2>&1; then
		sed 's/^/    /' "$DIR/initdb.log" >&2
		die "initdb failed in $DIR/data"
	fi
	cat >>"$DIR/data/postgresql.conf" <<EOF

# --- set by deploy/pg.sh: throwaway, loopback only ---
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	local rc=0
	pg_start || rc=$?
	[ $rc -eq 0 ] || exit "$rc"

	psql_as postgres -d postgres <<'EOF'
CREATE ROLE nwd_owner LOGIN;
CREATE ROLE nwd_daemon LOGIN;
CREATE ROLE nwd_auditor LOGIN;
CREATE DATABASE nwd OWNER nwd_owner;
EOF
	printf '%s\n' "$PORT" >"$DIR/port"
	trap - EXIT
	note "PostgreSQL running on 127.0.0.1:$PORT, socket and data in $DIR"
}

cmd_start() {
	[ $# -eq 1 ] || usage
	DIR=$(abspath "$1")
	need_cluster
	read_port
	make_traversable "$DIR"
	local rc=0
	pg_start || rc=$?
	exit "$rc"
}

cmd_stop() {
	[ $# -ge 1 ] && [ $# -le 2 ] || usage
	DIR=$(abspath "$1")
	local mode=fast
	case ${2:-} in
	'') ;;
	immediate | fast | smart) mode=$2 ;;
	*) die "unknown shutdown mode '$2' (immediate, fast or smart)" ;;
	esac
	need_cluster
	pg_stop "$mode"
}

cmd_status() {
	[ $# -eq 1 ] || usage
	DIR=$(abspath "$1")
	need_cluster
	read_port
	if is_running; then
		echo "running on 127.0.0.1:$PORT ($DIR)"
	else
		echo "stopped ($DIR)"
		exit 3
	fi
}

cmd_destroy() {
	[ $# -eq 1 ] || usage
	DIR=$(abspath "$1")
	[ -e "$DIR" ] || return 0
	# Refuse to remove anything that does not look like one of ours.
	if [ -e "$DIR/data" ] || [ -e "$DIR/port" ] || [ -e "$DIR/initdb.log" ] ||
	    [ -e "$DIR/postgres.log" ] || [ -z "$(ls -A "$DIR")" ]; then
		:
	else
		die "$DIR does not look like a cluster made by '$0 init'; not removing it"
	fi
	if [ -f "$DIR/standby/data/PG_VERSION" ]; then
		(DIR=$DIR/standby; pg_stop immediate)
	fi
	if [ -f "$DIR/data/PG_VERSION" ]; then
		pg_stop immediate
	fi
	rm -rf -- "$DIR"
}

cmd_psql() {
	[ $# -ge 1 ] || usage
	DIR=$(abspath "$1")
	shift
	local role=postgres
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		role=$1
		shift
	fi
	need_cluster
	read_port
	PGCONNECT_TIMEOUT=10 exec "$PGBIN/psql" -X -h "$DIR" -p "$PORT" \
	    -U "$role" -d nwd "$@"
}

# A synchronous streaming standby of the cluster in DIR, in DIR/standby.
cmd_standby() {
	[ $# -eq 2 ] || usage
	DIR=$(abspath "$1")
	need_cluster
	read_port
	local primary_dir=$DIR primary_port=$PORT sdir=$DIR/standby
	PORT=$2
	check_port "$PORT"
	[ ! -e "$sdir/data" ] ||
	    die "$sdir/data already exists: use '$0 start $sdir'"
	if port_in_use "$PORT" listen; then
		note "port $PORT is already in use; pick another (e.g. $0 freeport)"
		exit "$EXIT_PORT_BUSY"
	fi
	as_pg mkdir -p "$sdir"
	# -R: standby.signal and primary_conninfo; -C -S: a slot, so that the
	# primary keeps the WAL the standby has not received.
	if ! as_pg "$PGBIN/pg_basebackup" -h "$primary_dir" -p "$primary_port" \
	    -U postgres -D "$sdir/data" -R -C -S nwd_standby -X stream -c fast \
	    --no-sync >"$sdir/basebackup.log" 2>&1; then
		sed 's/^/    /' "$sdir/basebackup.log" >&2
		die "pg_basebackup of $primary_dir failed"
	fi
	cat >>"$sdir/data/postgresql.conf" <<EOF

# --- set by deploy/pg.sh standby ---
port = $PORT
unix_socket_directories = '$sdir'
cluster_name = 'nwd_standby'
hot_standby = on
synchronous_standby_names = ''
EOF
	printf '%s\n' "$PORT" >"$sdir/port"
	local rc=0
	DIR=$sdir
	pg_start || rc=$?
	[ $rc -eq 0 ] || exit "$rc"
	DIR=$primary_dir
	PORT=$primary_port
	psql_as postgres -d postgres >/dev/null <<'EOF'
ALTER SYSTEM SET synchronous_standby_names = 'nwd_standby';
SELECT pg_reload_conf();
EOF
	# The primary says when the standby streams in sync (polled: nothing
	# signals it).
	local i state=
	for i in $(seq 1 600); do
		state=$(psql_as postgres -d postgres -At -c \
		    "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'nwd_standby'" || true)
		[ "$state" = sync ] && break
		sleep 0.05
	done
	[ "$state" = sync ] ||
	    die "the standby in $sdir did not become synchronous (state '$state')"
	note "synchronous standby of $primary_dir running on 127.0.0.1:$2 ($sdir)"
}

cmd_promote() {
	[ $# -eq 1 ] || usage
	DIR=$(abspath "$1")
	need_cluster
	[ -f "$DIR/data/standby.signal" ] || die "$DIR is not a standby"
	# -w: returns once the server accepts writes.
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -w -t 60 -s promote ||
	    { log_tail; die "could not promote the standby in $DIR"; }
}

# Picks a port below the kernel's ephemeral range (so that no outgoing
# connection takes it meanwhile) that no socket uses now.  Another process
# may still take it before the caller binds it; init then exits with 3.
cmd_freeport() {
	[ $# -le 1 ] || usage
	if [ $# -eq 1 ]; then
		# A preferred port is for a server that binds it with
		# SO_REUSEADDR: only a listener stands in its way.
		check_port "$1"
		if ! port_in_use "$1" listen; then
			echo "$1"
			return 0
		fi
	fi
	local lo=20000 hi eph
	eph=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	hi=$((eph - 1))
	[ "$hi" -gt "$lo" ] || { lo=1024; hi=$((eph - 1)); }
	local span=$((hi - lo + 1)) p
	for _ in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % span))
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found between $lo and $hi"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
init | start | stop | status | destroy | psql | standby | promote) find_pgbin ;;
esac
case $cmd in
init) cmd_init "$@" ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
destroy) cmd_destroy "$@" ;;
psql) cmd_psql "$@" ;;
freeport) cmd_freeport "$@" ;;
standby) cmd_standby "$@" ;;
promote) cmd_promote "$@" ;;
-h | --help | help) usage 0 ;;
*) note "unknown command '$cmd'"; usage ;;
esac
