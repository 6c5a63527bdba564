#!/usr/bin/env bash
# gen-pki.sh DIR: a demo and test PKI for nwd (EC P-256, openssl CLI).
#
# Writes into DIR:
#   ca.crt, ca.key                 the demo CA (client and server certs chain to it)
#   ca.crl                         its CRL (valid 30 days), revoking clients/revoked
#   server.crt, server.key         CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   foreign-ca.crt, foreign-ca.key a second CA that nwdd does not trust
#   clients/<id>.crt, .key         one per principal of shared/SCENARIOS.md, CN=<id>:
#                                  plo-ana hubsys-norwich hubsys-dereham keyworker-kim
#                                  sw-ben camhs-cara case-system duty-mash auditor-dan
#                                  dsl-dana
#   and the test identities:
#   clients/stranger               good CA, CN=stranger, in no principal mapping
#   clients/foreign                signed by foreign-ca, CN=plo-ana: a mapped name
#                                  from an untrusted CA, so only chain
#                                  verification can refuse it
#   clients/revoked                good CA, CN=revoked (mapped to revoked-rob),
#                                  listed in ca.crl
#   clients/expired                good CA, CN=expired (mapped to exp-eve), validity
#                                  ended yesterday
#   clients/twocn                  good CA, two CN attributes (CN=keyworker-kim and
#                                  CN=plo-ana, both mapped): ambiguous, must be refused
#   clients/notyet                 good CA, CN=plo-ana (mapped), validity starting
#                                  in a year: only the validity check can refuse it
#   clients/retired                good CA, CN=keyworker-kim (mapped), a second
#                                  certificate of kim's that ca-next.crl revokes
#   and for the TLS reload and handshake tests:
#   ca-next.crl                    the CA's next CRL (valid 30 days): revokes
#                                  clients/revoked and clients/retired
#   ca-expired.crl                 a CRL of the CA whose nextUpdate was yesterday
#   foreign-ca.crl                 a current CRL signed by foreign-ca, not the CA
#   server-next.crt, .key          a second server certificate, CN=localhost, same
#                                  CA and names as server.crt
#   and for libnwd's check of the broker's certificate:
#   server-revoked.crl             the CA's CRL (valid 30 days) that revokes
#                                  server.crt too (clients given it refuse
#                                  the demo server)
#
# Keys are mode 0600.  Running it again on a complete DIR whose certificates
# and CRL are still valid changes nothing; otherwise DIR's PKI files are
# regenerated from scratch.  ca-db/ holds the CA's openssl-ca database.
set -euo pipefail

prog=gen-pki.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null ||
    die "the openssl command is missing (install it with: apt-get install openssl)"

DIR=$(realpath -m -- "$1")
CAST="plo-ana hubsys-norwich hubsys-dereham keyworker-kim sw-ben camhs-cara case-system duty-mash auditor-dan dsl-dana"
GOOD_TEST="stranger revoked expired twocn notyet retired"
STAMP=$DIR/.complete

# --- already there? ----------------------------------------------------------

complete() {
	local f id
	[ -f "$STAMP" ] || return 1
	for f in ca.crt ca.key ca.crl server.crt server.key foreign-ca.crt foreign-ca.key \
	    body.key audit-signing.key audit-signing.pub \
	    ca-next.crl ca-expired.crl foreign-ca.crl server-next.crt server-next.key \
	    server-revoked.crl; do
		[ -s "$DIR/$f" ] || return 1
	done
	for id in $CAST $GOOD_TEST foreign; do
		[ -s "$DIR/clients/$id.crt" ] && [ -s "$DIR/clients/$id.key" ] || return 1
	done
	# Still valid for a day: the CA, the server, a client, and the CRL
	# (verification with -crl_check fails once the CRL is past nextUpdate).
	openssl x509 -in "$DIR/ca.crt" -noout -checkend 86400 >/dev/null &&
	    openssl x509 -in "$DIR/server.crt" -noout -checkend 86400 >/dev/null &&
	    openssl verify -CAfile "$DIR/ca.crt" -CRLfile "$DIR/ca.crl" -crl_check \
		-attime $(($(date +%s) + 86400)) "$DIR/clients/plo-ana.crt" >/dev/null 2>&1 &&
	    openssl verify -CAfile "$DIR/ca.crt" -CRLfile "$DIR/ca-next.crl" -crl_check \
		-attime $(($(date +%s) + 86400)) "$DIR/clients/plo-ana.crt" >/dev/null 2>&1 &&
	    openssl x509 -in "$DIR/server-next.crt" -noout -checkend 86400 >/dev/null &&
	    ! openssl verify -CAfile "$DIR/ca.crt" -attime $(($(date +%s) + 86400)) \
		"$DIR/clients/notyet.crt" >/dev/null 2>&1
}

if complete; then
	exit 0
fi

# --- from scratch ------------------------------------------------------------

mkdir -p "$DIR"
umask 077
rm -rf "$DIR/ca-db" "$DIR/clients" "$DIR/.work" "$STAMP"
rm -f "$DIR"/{ca,server,foreign-ca}.{crt,key} "$DIR/ca.crl" "$DIR/foreign-ca.srl"
rm -f "$DIR"/{ca-next,ca-expired,foreign-ca,server-revoked}.crl "$DIR"/server-next.{crt,key}
mkdir -p "$DIR/ca-db/certs" "$DIR/clients" "$DIR/.work"
chmod 755 "$DIR" "$DIR/clients"
: >"$DIR/ca-db/index.txt"
echo 'unique_subject = no' >"$DIR/ca-db/index.txt.attr"
echo 1000 >"$DIR/ca-db/serial"
echo 1000 >"$DIR/ca-db/crlnumber"
W=$DIR/.work

cat >"$W/ca.cnf" <<EOF
[ ca ]
default_ca = nwd_ca

[ nwd_ca ]
dir = $DIR/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir/certs
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $DIR/ca.crt
private_key = $DIR/ca.key
default_md = sha256
default_days = 825
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = yes

[ policy_any ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1

[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ||
	    die "could not generate a key in $1"
	chmod 600 "$1"
}

# selfsigned NAME SUBJECT: a CA certificate NAME.crt with key NAME.key.
selfsigned() {
	newkey "$DIR/$1.key"
	openssl req -config "$W/ca.cnf" -new -x509 -key "$DIR/$1.key" -subj "$2" \
	    -days 3650 -extensions v3_ca -out "$DIR/$1.crt" ||
	    die "could not make $1.crt"
}

# issue ID SUBJECT EXTENSIONS OUT [openssl-ca options]: a certificate signed by
# the demo CA, with its key beside it.
issue() {
	local id=$1 subj=$2 ext=$3 out=$4
	shift 4
	newkey "$out.key"
	openssl req -config "$W/ca.cnf" -new -key "$out.key" -subj "$subj" \
	    -out "$W/$id.csr" ||
	    die "could not make a request for $id"
	openssl ca -config "$W/ca.cnf" -batch -notext -preserveDN \
	    -extensions "$ext" -in "$W/$id.csr" -out "$out.crt" "$@" 2>"$W/$id.err" ||
	    { cat "$W/$id.err" >&2; die "could not sign the certificate for $id"; }
	chmod 644 "$out.crt"
}

selfsigned ca "/O=nwd demo/CN=nwd demo CA"
chmod 644 "$DIR/ca.crt"
issue server "/O=nwd demo/CN=localhost" server "$DIR/server"
issue server-next "/O=nwd demo/CN=localhost" server "$DIR/server-next"

for id in $CAST stranger revoked; do
	issue "$id" "/O=nwd demo/CN=$id" client "$DIR/clients/$id"
done
issue twocn "/O=nwd demo/CN=keyworker-kim/CN=plo-ana" client "$DIR/clients/twocn"
# Validity entirely in the past: from ten days ago until yesterday.
issue expired "/O=nwd demo/CN=expired" client "$DIR/clients/expired" \
    -startdate "$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)"
# Validity entirely in the future: from a year from now for a year.
issue notyet "/O=nwd demo/CN=plo-ana" client "$DIR/clients/notyet" \
    -startdate "$(date -u -d '365 days' +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d '730 days' +%Y%m%d%H%M%SZ)"
issue retired "/O=nwd demo/CN=keyworker-kim" client "$DIR/clients/retired"

openssl ca -config "$W/ca.cnf" -batch -revoke "$DIR/clients/revoked.crt" \
    -crl_reason keyCompromise 2>"$W/revoke.err" ||
    { cat "$W/revoke.err" >&2; die "could not revoke clients/revoked.crt"; }
openssl ca -config "$W/ca.cnf" -batch -gencrl -crldays 30 -out "$DIR/ca.crl" \
    2>"$W/crl.err" || { cat "$W/crl.err" >&2; die "could not make ca.crl"; }
chmod 644 "$DIR/ca.crl"
# The same list, but stale: issued ten days ago, next update yesterday.
openssl ca -config "$W/ca.cnf" -batch -gencrl \
    -crl_lastupdate "$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)" \
    -crl_nextupdate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)" \
    -out "$DIR/ca-expired.crl" 2>"$W/crl.err" ||
    { cat "$W/crl.err" >&2; die "could not make ca-expired.crl"; }
# The next CRL: kim's retired certificate revoked as well.
openssl ca -config "$W/ca.cnf" -batch -revoke "$DIR/clients/retired.crt" \
    -crl_reason superseded 2>"$W/revoke.err" ||
    { cat "$W/revoke.err" >&2; die "could not revoke clients/retired.crt"; }
openssl ca -config "$W/ca.cnf" -batch -gencrl -crldays 30 -out "$DIR/ca-next.crl" \
    2>"$W/crl.err" || { cat "$W/crl.err" >&2; die "could not make ca-next.crl"; }
chmod 644 "$DIR/ca-expired.crl" "$DIR/ca-next.crl"
# Last, since the CA's database keeps it: the server certificate revoked.
openssl ca -config "$W/ca.cnf" -batch -revoke "$DIR/server.crt" \
    -crl_reason keyCompromise 2>"$W/revoke.err" ||
    { cat "$W/revoke.err" >&2; die "could not revoke server.crt"; }
openssl ca -config "$W/ca.cnf" -batch -gencrl -crldays 30 \
    -out "$DIR/server-revoked.crl" 2>"$W/crl.err" ||
    { cat "$W/crl.err" >&2; die "could not make server-revoked.crl"; }
chmod 644 "$DIR/server-revoked.crl"

# The foreign CA and its client, CN=plo-ana.
selfsigned foreign-ca "/O=not nwd/CN=foreign demo CA"
chmod 644 "$DIR/foreign-ca.crt"
newkey "$DIR/clients/foreign.key"
openssl req -config "$W/ca.cnf" -new -key "$DIR/clients/foreign.key" \
    -subj "/O=nwd demo/CN=plo-ana" -out "$W/foreign.csr" ||
    die "could not make a request for foreign"
openssl x509 -req -in "$W/foreign.csr" -CA "$DIR/foreign-ca.crt" \
    -CAkey "$DIR/foreign-ca.key" -set_serial 4096 -days 825 -sha256 \
    -extfile "$W/ca.cnf" -extensions client -out "$DIR/clients/foreign.crt" 2>"$W/foreign.err" ||
    { cat "$W/foreign.err" >&2; die "could not sign clients/foreign.crt"; }
chmod 644 "$DIR/clients/foreign.crt"
# A current CRL of the foreign CA, from a database of its own.
mkdir -p "$W/foreign-db"
: >"$W/foreign-db/index.txt"
echo 1000 >"$W/foreign-db/crlnumber"
sed -e "s|^dir = .*|dir = $W/foreign-db|" \
    -e "s|^certificate = .*|certificate = $DIR/foreign-ca.crt|" \
    -e "s|^private_key = .*|private_key = $DIR/foreign-ca.key|" \
    "$W/ca.cnf" >"$W/foreign.cnf"
openssl ca -config "$W/foreign.cnf" -batch -gencrl -crldays 30 \
    -out "$DIR/foreign-ca.crl" 2>"$W/crl.err" ||
    { cat "$W/crl.err" >&2; die "could not make foreign-ca.crl"; }
chmod 644 "$DIR/foreign-ca.crl"

# Keys that are not certificates: the body key (AES-256, as hex) that seals
# message bodies at rest, and the Ed25519 key that signs audit checkpoints,
# with its public half for the verifier.
umask 077
openssl rand -hex 32 >"$DIR/body.key" || die "could not make body.key"
openssl genpkey -algorithm ed25519 -out "$DIR/audit-signing.key" 2>/dev/null ||
    die "could not make audit-signing.key"
umask 022
openssl pkey -in "$DIR/audit-signing.key" -pubout -out "$DIR/audit-signing.pub" ||
    die "could not make audit-signing.pub"
chmod 600 "$DIR/body.key" "$DIR/audit-signing.key"
chmod 644 "$DIR/audit-signing.pub"

rm -rf "$W"
: >"$STAMP"
