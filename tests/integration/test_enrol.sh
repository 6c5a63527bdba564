#!/usr/bin/env bash
# test_enrol.sh: deploy/nwd-ca against a running nwdd (issue 21).
#
# Run through tests/run-test.sh (make check), which provides NWD_TEST_TMP,
# a PostgreSQL (NWD_TEST_PGPORT) and NWD_TEST_PKI (only its body and audit
# signing keys are used here: every certificate comes from nwd-ca's own
# easy-rsa CA).  nwd-ca reloads nwdd with SIGHUP.
#
#   1. nwd-ca init, server: nwdd starts on that CA and the CRL it published
#   2. enrol ann (a key pair made by the CA): ann's line is in the mapping,
#      nwdd reloads it, and "nwd whoami" as ann answers principal, role,
#      agency, teams and clearance; enrol bob from a CSR (refused first with
#      a CSR of another commonName, and for a role the policy lacks, leaving
#      the mapping as it was); bob's whoami answers; bob moves team
#      (nwd-ca update): his whoami says the new team
#   3. a live session of ann's (nwd sub); renew ann: a second certificate,
#      whose whoami answers, while the first session stays up; a second
#      session on the new certificate
#   4. list: both of ann's certificates with their expiry, and the CRL's
#   5. revoke ann: the CRL lists both serials, the reload closes both live
#      sessions (tls_reload_done ... sessions_closed=2, and each nwd sub
#      exits saying the broker ended it) and a new connection is refused at
#      the handshake (exit 3); ann's line is gone; list no longer shows her
#   6. every step is in nwd-ca's log
#
# No sleeps: it waits for nwdd's READY (--ready-fd), for log lines and for
# the nwd sub processes to end, each bounded by a timeout.
set -euo pipefail

prog=test_enrol
fail() { printf '%s: FAIL: %s\n' "$prog" "$*" >&2; exit 1; }
ok() { printf '%s: ok: %s\n' "$prog" "$*"; }

for v in NWD_TEST_TMP NWD_TEST_PGPORT NWD_TEST_PKI NWD_SRCDIR NWD_BUILDDIR; do
	[ -n "${!v:-}" ] || { echo "$prog: $v is not set (run me through tests/run-test.sh)" >&2; exit 99; }
done
[ -x /usr/share/easy-rsa/easyrsa ] ||
    { echo "$prog: skipped: easy-rsa is not installed (apt-get install easy-rsa)"; exit 77; }

T=$NWD_TEST_TMP
nwdd=$NWD_BUILDDIR/daemon/nwdd
nwd=$NWD_BUILDDIR/client/nwd
ca=$NWD_SRCDIR/deploy/nwd-ca
# nwd-ca checks a new mapping with "nwd policy check" when nwd is on PATH.
export PATH=$NWD_BUILDDIR/client:$PATH
export NWD_CA_CONFIG=$T/nwdd.conf NWD_CA_PKI=$T/ca NWD_CA_LOG=$T/nwd-ca.log
log=$T/nwdd.log
pids=()

cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "${nwdd_pid:-}" ] && kill -0 "$nwdd_pid" 2>/dev/null; then
		kill -TERM "$nwdd_pid"
		wait "$nwdd_pid" || true
	fi
	[ "$rc" -eq 0 ] || { echo "---- nwdd.log (last 40 lines)"; tail -n 40 "$log" 2>/dev/null; } >&2
	exit "$rc"
}
trap cleanup EXIT

# lines: the number of lines nwdd has logged so far (a mark for wait_log).
lines() { wc -l <"$log"; }
# wait_log MARK PATTERN: waits (30 s at most) until a line after line MARK
# of nwdd's log matches the extended regular expression PATTERN; prints it.
wait_log() {
	local mark=$1 pat=$2 fd tp rc=0
	exec {fd}< <(exec tail -n +$((mark + 1)) -F "$log" 2>/dev/null)
	tp=$!
	timeout 30 grep -m 1 -E -- "$pat" <&"$fd" || rc=$?
	kill "$tp" 2>/dev/null || true
	exec {fd}<&-
	[ "$rc" -eq 0 ] || fail "nwdd did not log /$pat/ within 30 s"
}
# wait_file FILE PATTERN: the same for another file (nwd sub's stderr).
wait_file() {
	local f=$1 pat=$2 fd tp rc=0
	exec {fd}< <(exec tail -n +1 -F "$f" 2>/dev/null)
	tp=$!
	timeout 30 grep -m 1 -E -- "$pat" <&"$fd" >/dev/null || rc=$?
	kill "$tp" 2>/dev/null || true
	exec {fd}<&-
	[ "$rc" -eq 0 ] || fail "$f: no /$pat/ within 30 s: $(tail -n 3 "$f")"
}
# wait_exit PID: waits (30 s at most) for a child to end; returns its status.
wait_exit() {
	timeout 30 tail --pid="$1" -f /dev/null || fail "process $1 did not end within 30 s"
	local rc=0
	wait "$1" || rc=$?
	return "$rc"
}

# --- 1. the CA and nwdd on it --------------------------------------------------------

cp "$NWD_SRCDIR/deploy/principals.conf" "$T/principals.conf"
port=$("$NWD_SRCDIR/deploy/pg.sh" freeport) || fail "no free port"
pg="host=127.0.0.1 port=$NWD_TEST_PGPORT dbname=nwd"
cat >"$T/nwdd.conf" <<EOF
instance = nwdd-enrol
listen = 127.0.0.1:$port
tls_cert = $T/ca/issued/localhost.crt
tls_key = $T/ca/private/localhost.key
tls_ca = $T/ca/ca.crt
tls_crl = $T/crl.pem
body_key = $NWD_TEST_PKI/body.key
audit_signing_key = $NWD_TEST_PKI/audit-signing.key
state_directory = $T/state
principals = $T/principals.conf
policy = $NWD_SRCDIR/deploy/policy.nwd
calendar = $NWD_SRCDIR/deploy/calendar.conf
database = $pg user=nwd_daemon
migrate_database = $pg user=nwd_owner
migrations = $NWD_SRCDIR/deploy/sql
EOF
# The harness's daemons keep root when the suite runs as root (CI).
[ "$(id -u)" -ne 0 ] || echo 'user = root' >>"$T/nwdd.conf"
chmod 600 "$T/nwdd.conf"
mkdir -p "$T/state"

"$ca" --reload none init --nopass --ca-name "nwd test CA" >"$T/init.out" ||
    fail "nwd-ca init: $(cat "$T/init.out")"
[ -s "$T/crl.pem" ] || fail "init published no CRL at tls_crl"
"$ca" server localhost --san DNS:localhost,IP:127.0.0.1 >/dev/null ||
    fail "nwd-ca server failed"
ok "init and server certificate"

"$nwdd" --migrate -c "$T/nwdd.conf" >"$T/migrate.out" 2>&1 ||
    fail "nwdd --migrate: $(tail -n 3 "$T/migrate.out")"
mkfifo "$T/ready"
"$nwdd" -c "$T/nwdd.conf" --ready-fd 3 3>"$T/ready" 2>"$log" &
nwdd_pid=$!
ready=
timeout 60 head -n 1 "$T/ready" >"$T/ready.out" || true
read -r ready <"$T/ready.out" || true
[ "$ready" = READY ] || fail "nwdd did not become ready"
ok "nwdd ready on nwd-ca's CA (pid $nwdd_pid, port $port)"
export NWD_CA_RELOAD="kill -HUP $nwdd_pid"

# as NAME.N ARGS...: nwd as the certificate NAME.N of the CA.
as() {
	local b=$1
	shift
	"$nwd" --server "127.0.0.1:$port" --ca "$T/ca/ca.crt" \
	    --cert "$T/ca/issued/$b.crt" --key "$T/ca/private/$b.key" \
	    --timeout 20 "$@"
}

# --- 2. enrol ---------------------------------------------------------------------

m=$(lines)
"$ca" enrol ann --role hub_keyworker --agency hub --teams hub:norwich,hub:dereham \
    >"$T/enrol.out" || fail "nwd-ca enrol ann: $(cat "$T/enrol.out")"
grep -E '^ann +ann +hub_keyworker +hub +hub:norwich,hub:dereham +OFFICIAL$' \
    "$T/principals.conf" >/dev/null || fail "ann's line is not in the mapping"
wait_log "$m" 'event=reload_done .*principals=' >/dev/null
out=$(as ann.1 whoami) || fail "ann's whoami failed: $out"
for want in ann hub_keyworker hub:norwich OFFICIAL; do
	case $out in *"$want"*) ;; *) fail "ann's whoami does not say $want: $out" ;; esac
done
ok "enrol ann (key pair made by the CA), whoami: $(printf '%s' "$out" | tr '\n' ' ')"

# bob sends a CSR; the first one names someone else.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=mallory -keyout "$T/bob-wrong.key" -out "$T/bob-wrong.csr" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=bob -keyout "$T/bob.key" -out "$T/bob.csr" 2>/dev/null
cp "$T/principals.conf" "$T/principals.before"
if "$ca" enrol bob --role case_system --agency social_care --csr "$T/bob-wrong.csr" \
    >"$T/refused.out" 2>&1; then
	fail "a CSR whose commonName is not bob was signed"
fi
grep -q "commonName is 'mallory', not 'bob'" "$T/refused.out" ||
    fail "the wrong CSR's refusal does not say why: $(cat "$T/refused.out")"
if "$ca" enrol bob --role no_such_role --agency social_care --csr "$T/bob.csr" \
    >"$T/refused.out" 2>&1; then
	fail "bob was enrolled with a role the policy lacks"
fi
grep -q 'no_such_role' "$T/refused.out" ||
    fail "the unknown role's refusal does not name it: $(cat "$T/refused.out")"
cmp -s "$T/principals.conf" "$T/principals.before" ||
    fail "a refused enrolment changed the mapping"
[ ! -e "$T/ca/issued/bob.1.crt" ] || fail "a refused enrolment signed a certificate"
m=$(lines)
"$ca" enrol bob --role case_system --agency social_care --clearance OFFICIAL_SENSITIVE \
    --csr "$T/bob.csr" >"$T/enrol-bob.out" || fail "nwd-ca enrol bob --csr: $(cat "$T/enrol-bob.out")"
[ ! -e "$T/ca/private/bob.1.key" ] || fail "enrol --csr made a key pair"
wait_log "$m" 'event=reload_done' >/dev/null
out=$("$nwd" --server "127.0.0.1:$port" --ca "$T/ca/ca.crt" --cert "$T/ca/issued/bob.1.crt" \
    --key "$T/bob.key" --timeout 20 whoami) || fail "bob's whoami failed: $out"
case $out in *'"role":"case_system"'*'"clearance":"OFFICIAL-SENSITIVE"'*) ;;
*) fail "bob's whoami: $out" ;; esac
ok "enrol bob from his CSR (after refusing another's CSR and an unknown role)"

# bob moves team: his line changes, his certificate does not.
m=$(lines)
"$ca" update bob --teams sw:north >"$T/update.out" || fail "nwd-ca update bob: $(cat "$T/update.out")"
wait_log "$m" 'event=reload_done' >/dev/null
out=$("$nwd" --server "127.0.0.1:$port" --ca "$T/ca/ca.crt" --cert "$T/ca/issued/bob.1.crt" \
    --key "$T/bob.key" --timeout 20 whoami) || fail "bob's whoami after update failed: $out"
case $out in *'"teams":["sw:north"]'*'"clearance":"OFFICIAL-SENSITIVE"'*) ;;
*) fail "bob's whoami after moving team: $out" ;; esac
ok "update bob --teams sw:north: whoami says so"

# --- 3. renew, with live sessions --------------------------------------------------

as ann.1 sub 2>"$T/sub1.err" >/dev/null &
sub1=$!
pids+=("$sub1")
wait_file "$T/sub1.err" 'subscribed'
"$ca" renew ann >"$T/renew.out" || fail "nwd-ca renew ann: $(cat "$T/renew.out")"
[ -s "$T/ca/issued/ann.2.crt" ] || fail "renew made no ann.2"
[ "$(openssl x509 -in "$T/ca/issued/ann.2.crt" -noout -subject -nameopt multiline |
    sed -n 's/^ *commonName *= *//p')" = ann ] || fail "ann.2's commonName is not ann"
out=$(as ann.2 whoami) || fail "whoami with ann's renewed certificate failed: $out"
case $out in *hub_keyworker*) ;; *) fail "renewed whoami: $out" ;; esac
kill -0 "$sub1" 2>/dev/null || fail "renewing closed ann's live session: $(cat "$T/sub1.err")"
as ann.2 sub 2>"$T/sub2.err" >/dev/null &
sub2=$!
pids+=("$sub2")
wait_file "$T/sub2.err" 'subscribed'
ok "renew ann: ann.2 works, the session on ann.1 stays up"

# --- 4. list ---------------------------------------------------------------------

"$ca" list >"$T/list.out" || fail "nwd-ca list failed"
for b in ann.1 ann.2 bob.1; do
	end=$(date -u -d "$(openssl x509 -in "$T/ca/issued/$b.crt" -noout -enddate |
	    sed 's/^notAfter=//')" '+%Y-%m-%d %H:%M:%S UTC')
	grep -E "^${b%.*} +$b +[0-9A-F]+ +$end +36[45]\$" "$T/list.out" >/dev/null ||
	    fail "list does not show $b expiring $end: $(cat "$T/list.out")"
done
grep -q '^CRL: next update ' "$T/list.out" || fail "list does not show the CRL's next update"
ok "list: $(grep -c -E '^(ann|bob) ' "$T/list.out") certificates with their expiry, and the CRL's next update"

# --- 5. revoke -------------------------------------------------------------------

s1=$(openssl x509 -in "$T/ca/issued/ann.1.crt" -noout -serial | sed 's/^serial=//')
s2=$(openssl x509 -in "$T/ca/issued/ann.2.crt" -noout -serial | sed 's/^serial=//')
# ann keeps her copy; easy-rsa moves the CA's to revoked/.
cp "$T/ca/issued/ann.2.crt" "$T/ann.crt"
cp "$T/ca/private/ann.2.key" "$T/ann.key"
m=$(lines)
"$ca" revoke ann >"$T/revoke.out" || fail "nwd-ca revoke ann: $(cat "$T/revoke.out")"
crl=$(openssl crl -in "$T/crl.pem" -noout -text)
for s in "$s1" "$s2"; do
	case $crl in *"Serial Number: $s"*) ;; *) fail "the published CRL does not list $s" ;; esac
done
line=$(wait_log "$m" 'event=tls_reload_done ')
case $line in *sessions_closed=2*) ;; *) fail "the reload closed other than 2 sessions: $line" ;; esac
rc=0; wait_exit "$sub1" || rc=$?
[ "$rc" -ne 0 ] || fail "ann's first nwd sub exited 0 after the revocation"
rc=0; wait_exit "$sub2" || rc=$?
[ "$rc" -ne 0 ] || fail "ann's second nwd sub exited 0 after the revocation"
pids=()
grep -q -i 'revoked\|ended\|closed\|goodbye\|error' "$T/sub1.err" ||
    fail "ann's nwd sub does not say why it ended: $(cat "$T/sub1.err")"
rc=0
"$nwd" --server "127.0.0.1:$port" --ca "$T/ca/ca.crt" --cert "$T/ann.crt" \
    --key "$T/ann.key" --timeout 20 whoami >"$T/refused.out" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "a new connection on ann's revoked certificate: exit $rc, not 3: $(cat "$T/refused.out")"
! grep -E '^ann ' "$T/principals.conf" >/dev/null || fail "ann's line is still in the mapping"
"$ca" list >"$T/list.out" || fail "nwd-ca list failed"
! grep -E '^ann ' "$T/list.out" >/dev/null || fail "list still shows ann: $(cat "$T/list.out")"
"$nwd" --server "127.0.0.1:$port" --ca "$T/ca/ca.crt" --cert "$T/ca/issued/bob.1.crt" \
	--key "$T/bob.key" --timeout 20 whoami >/dev/null || fail "bob was refused after ann's revocation"
ok "revoke ann: both sessions closed ($(tail -n 1 "$T/sub1.err")), a new connection refused (exit 3)"

# --- 6. the log --------------------------------------------------------------------

for want in 'init: CA' 'enrol ann:' 'signed ann.1' 'added ann' 'reload: kill -HUP' \
    'imported the CSR' 'failed: .*mallory' 'update bob' 'renew ann' 'signed ann.2' 'revoke ann' \
    'revoked ann.1' 'revoked ann.2' 'published the CRL' 'removed ann'; do
	grep -E -- "$want" "$NWD_CA_LOG" >/dev/null || fail "nwd-ca's log has no /$want/"
done
ok "nwd-ca's log holds every step ($(wc -l <"$NWD_CA_LOG") lines)"
