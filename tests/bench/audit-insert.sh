#!/usr/bin/env bash
# audit-insert.sh [-n STATEMENTS] [-r ROWS] [-k KEEP_THROUGH] [-p PREFILL]
#     [-u 4|7] [SQL...]: PostgreSQL's own cost of nwdd's audit INSERTs, without nwdd.
#
# Starts a throwaway cluster (deploy/pg.sh), applies the migrations of
# deploy/sql (or, with -k NNN, those numbered up to NNN only), then each
# SQL file given (a variant to try: another index, another trigger), and
# inserts audit rows shaped as the bench's (a publish row and five deliver
# rows per message, chained, one subject, one sender) in statements of ROWS
# rows (default 36, a transaction's median at 2,000 publishes/s; flat out
# it is about 256): STATEMENTS statements (default 3000, 108,000 rows) in
# one session, three times, each in a new
# session, after a 720-row seed (or, with -p, PREFILL rows in one
# statement), ANALYZE and a CHECKPOINT before each run.  Prints the time of
# each run, microseconds per row, and the WAL it wrote (pg_stat_wal:
# bytes and full-page images per row).  Removes the cluster.
#
# Message ids are random (-u 4, the default) or time-ordered as nwdd makes
# them (-u 7, RFC 9562 version 7: a millisecond a message).  With a large
# PREFILL, each run is the first 108,000 rows after a checkpoint of a table
# that has been in use: the first change to each index page after a
# checkpoint copies the whole page into the WAL, and random ids change a
# different page of the message_id index nearly every time.
#
# The first run starts in a session whose chain-link trigger is planned
# against a 720-row table: with the 005 trigger, that plan scans the table
# per insert (BENCHMARKS.md, session 5).
#
# Numbers vary by 10% from run to run on a shared 2-core machine: compare
# variants in alternation, not once each.
set -euo pipefail

prog=audit-insert.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pgsh=$root/deploy/pg.sh
n=3000
per=36
keep=999
prefill=720
uv=4

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

while getopts n:r:k:p:u: opt; do
	case $opt in
	n) n=$OPTARG ;;
	r) per=$OPTARG ;;
	k) keep=$OPTARG ;;
	p) prefill=$OPTARG ;;
	u) uv=$OPTARG ;;
	*) die "usage: $prog [-n STATEMENTS] [-r ROWS] [-k KEEP_THROUGH] [-p PREFILL] [-u 4|7] [SQL...]" ;;
	esac
done
shift $((OPTIND - 1))
[[ $n =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number"
[[ $per =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive number"
[[ $keep =~ ^[0-9]+$ ]] || die "-k wants a migration number"
[[ $prefill =~ ^[1-9][0-9]*$ ]] || die "-p wants a positive number"
prefill=$(( (prefill + 35) / 36 * 36 ))
case $uv in
4) mid="md5((g / 6)::text)::uuid" ;;
7) mid="(lpad(to_hex(1795464000000 + g / 6), 12, '0') || '7' ||
	substr(md5((g / 6)::text), 1, 3) || '8' ||
	substr(md5((g / 6)::text), 4, 15))::uuid" ;;
*) die "-u wants 4 or 7" ;;
esac
for f in "$@"; do [ -r "$f" ] || die "cannot read $f"; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nwd-audit-insert.XXXXXX")
chmod 755 "$tmp"
trap '"$pgsh" destroy "$tmp/pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"$pgsh" init "$tmp/pg" "$("$pgsh" freeport 25400)" >"$tmp/init.log" 2>&1 ||
    die "PostgreSQL would not start (see $tmp/init.log)"
psql() { "$pgsh" psql "$tmp/pg" postgres -q -v ON_ERROR_STOP=1 "$@"; }

# As migrate.c does, as the superuser here: the schema, then each file.
psql -c "CREATE SCHEMA nwd AUTHORIZATION nwd_owner" \
    -c "CREATE TABLE nwd.schema_migrations (version int PRIMARY KEY,
	name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
for f in "$root"/deploy/sql/[0-9][0-9][0-9]_*.sql; do
	v=$(basename "$f"); v=$((10#${v%%_*}))
	[ "$v" -le "$keep" ] || continue
	psql -1 -f "$f" >/dev/null || die "migration $f failed"
	echo "applied $(basename "$f")"
done
for f in "$@"; do
	psql -1 -f "$f" >/dev/null || die "$f failed"
	echo "applied $f"
done

# One session: $1 INSERTs of $2 (default 36) chained rows after the last.
inserts() {
	cat <<EOF
\\timing on
DO \$\$
DECLARE
	s bigint := (SELECT coalesce(max(seq), 0) FROM nwd.audit_events
	    WHERE instance = 'bench');
BEGIN
	FOR i IN 1..$1 LOOP
		INSERT INTO nwd.audit_events (instance, at, actor, action,
		    message_id, subject, kind, recipient, fields_shared,
		    fields_withheld, rule, policy_version, reason, peer,
		    session, seq, prev_hash, hash)
		SELECT 'bench', date_trunc('milliseconds', now()), 'plo-ana',
		    CASE WHEN g % 6 = 0 THEN 'publish' ELSE 'deliver' END,
		    $mid, 'YP-BENCH', 3,
		    CASE WHEN g % 6 <> 0 THEN (ARRAY['hub:norwich',
			'hub:dereham', 'sw:north', 'camhs:central',
			'camhs:west'])[g % 6] END,
		    CASE WHEN g % 6 <> 0 THEN ARRAY['summary', 'risk'] END,
		    NULL, 'risk-alerts', 'sha256:bench', NULL,
		    '127.0.0.1:40000', 'bench-session', g,
		    CASE WHEN g = 1 THEN '\\x$(printf '0%.0s' {1..64})'::bytea
			ELSE sha256((g - 1)::text::bytea) END,
		    sha256(g::text::bytea)
		FROM generate_series(s + 1, s + ${2:-36}) g;
		s := s + ${2:-36};
	END LOOP;
END \$\$;
EOF
}

inserts 1 "$prefill" | psql >/dev/null
echo "prefilled $prefill rows, message ids of version $uv"
psql -c "ANALYZE nwd.audit_events"
wal() { psql -X -A -t -c "SELECT wal_bytes, wal_fpi FROM pg_stat_wal" | tr '|' ' '; }
rows=$((n * per))
for run in 1 2 3; do
	psql -c "CHECKPOINT"
	read -r b0 f0 <<<"$(wal)"
	ms=$(inserts "$n" "$per" | psql | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
	    tail -1)
	[ -n "$ms" ] || die "run $run printed no time"
	read -r b1 f1 <<<"$(wal)"
	awk -v r="$run" -v ms="$ms" -v rows="$rows" -v b="$((b1 - b0))" \
	    -v f="$((f1 - f0))" 'BEGIN {
		printf "run %d: %d rows in %.0f ms, %.1f us a row; WAL %.0f bytes a row, %.3f full-page images a row\n",
		    r, rows, ms, ms * 1000 / rows, b / rows, f / rows }'
done
