#!/usr/bin/env bash
# manpages.sh: the manual pages say what the programs do.
#
# Checks, against the programs' own help output so that the two cannot drift
# apart silently:
#   - every configuration key of "nwdd --help" has an entry in nwdd.conf(5)
#     (".It Cm KEY") that gives its default, or says "Required." or
#     "Default: empty.", and nwdd.conf(5) documents no key nwdd does not
#     know; every key is also in deploy/nwdd.conf.example;
#   - every option of "nwdd --help" is in nwdd(8);
#   - every command, option, kind and exit status of "nwd --help" and of
#     each command's help is in nwd(1);
#   - every command, option and environment variable of "nwd-ca --help"
#     (deploy/nwd-ca) is in nwd-ca(8);
#   - every page renders without warnings: groff -mandoc -ww, and
#     mandoc -T lint -W warning where mandoc is installed.
#
# Needs the built daemon/nwdd and client/nwd (NWD_BUILDDIR, default the
# current directory) and the sources (NWD_SRCDIR, default this script's
# tree).  Writes nothing.  Exit status: 0 pass, 1 fail (every problem is
# listed), 99 if the programs are missing.
set -euo pipefail

prog=manpages.sh
: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${NWD_BUILDDIR:=$PWD}"
nwdd=$NWD_BUILDDIR/daemon/nwdd
nwd=$NWD_BUILDDIR/client/nwd
doc=$NWD_SRCDIR/doc
example=$NWD_SRCDIR/deploy/nwdd.conf.example

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

for f in "$nwdd" "$nwd"; do
	[ -x "$f" ] || { echo "$prog: $f is not built" >&2; exit 99; }
done

# --- nwdd.conf(5) against "nwdd --help" ---------------------------------------

conf5=$doc/nwdd.conf.5
# One line per key: "KEY<TAB>required|empty|default<TAB>DEFAULT".
keys=$("$nwdd" --help | awk '
	/^Configuration keys:/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  [a-z_]+ / {
		key = $1; def = ""; kind = "empty"
		if (match($0, /\[default: .*\]$/)) {
			def = substr($0, RSTART + 10, RLENGTH - 11)
			kind = "default"
		} else if ($0 ~ /\(required\)/)
			kind = "required"
		printf "%s\t%s\t%s\n", key, kind, def
	}')
nkeys=$(printf '%s\n' "$keys" | grep -c . || true)
[ "$nkeys" -ge 10 ] ||
    problem "nwdd --help lists $nkeys configuration keys; its format changed?"

# The entry of KEY: from ".It Cm KEY" to the next .It, .El or .Ss.
entry() {
	awk -v key="$1" '
		$0 ~ "^\\.It Cm " key "( |$)" { on = 1; print; next }
		on && /^\.(It|El|Ss|Sh)( |$)/ { exit }
		on { print }' "$conf5"
}

while IFS=$'\t' read -r key kind def; do
	[ -n "$key" ] || continue
	text=$(entry "$key")
	if [ -z "$text" ]; then
		problem "nwdd.conf.5: no entry for key $key (add '.It Cm $key No = ...')"
		continue
	fi
	case $kind in
	required)
		grep -q '^Required\.' <<<"$text" ||
		    problem "nwdd.conf.5: $key is required, but its entry does not say 'Required.'" ;;
	empty)
		grep -q '^Default: empty\.' <<<"$text" ||
		    problem "nwdd.conf.5: $key defaults to empty, but its entry does not say 'Default: empty.'" ;;
	default)
		grep -qF -- "$def" <<<"$text" ||
		    problem "nwdd.conf.5: $key defaults to '$def', which its entry does not give" ;;
	esac
	grep -qE "^#?[[:space:]]*$key[[:space:]]*=" "$example" ||
	    problem "deploy/nwdd.conf.example: key $key is missing"
done <<<"$keys"

# Keys documented but unknown to nwdd.
while read -r key; do
	printf '%s\n' "$keys" | cut -f1 | grep -qx -- "$key" ||
	    problem "nwdd.conf.5: documents key $key, which nwdd --help does not list"
done < <(sed -n '/^\.Sh KEYS/,/^\.Sh /s/^\.It Cm \([a-z_]*\).*/\1/p' "$conf5")

# --- nwdd(8) against "nwdd --help" -----------------------------------------

nwdd8=$doc/nwdd.8
while read -r opt; do
	grep -qE -- "(^|[ |])Fl -$opt( |$)|(^|[ |])-$opt( |$)" "$nwdd8" ||
	    problem "nwdd.8: option --$opt of nwdd --help is missing"
done < <("$nwdd" --help | sed -n '1,/^Configuration keys:/p' |
    grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u)
grep -q '^\.Fl c Ar file' "$nwdd8" || problem "nwdd.8: option -c is missing"
for sig in SIGHUP SIGTERM SIGINT; do
	grep -qE "Dv $sig( |,|$)" "$nwdd8" || problem "nwdd.8: signal $sig is missing"
done

# --- nwd(1) against "nwd --help" and each command's help --------------------

nwd1=$doc/nwd.1
help_all=$(
	"$nwd" --help
	for c in whoami push sub ping status; do "$nwd" help "$c"; done
	"$nwd" help durable list
	"$nwd" help durable delete
	"$nwd" policy --help
	"$nwd" audit verify --help
	"$nwd" audit query --help
	"$nwd" sar --help
)
while read -r opt; do
	grep -qE -- "(^|[ |])Fl -$opt( |$)|(^|[ ,|])-$opt( |,|$)" "$nwd1" ||
	    problem "nwd.1: option --$opt is missing"
done < <(sed "s/'nwdd --[a-z-]*//g" <<<"$help_all" |
    grep -oE -- '(^|[ [|(])--[a-z][a-z-]*' |
    sed 's/^[^-]*--//' | sort -u)
while read -r cmd; do
	grep -qE "^\\.It Cm $cmd( |$)" "$nwd1" ||
	    problem "nwd.1: command '$cmd' is missing"
done < <("$nwd" --help | sed -n '/^Commands:/,/^$/p' |
    sed -n 's/^  nwd \([a-z]*\( [a-z]*\)\{0,1\}\).*/\1/p' |
    sed 's/ [A-Z].*//; s/ $//' | sort -u)
while read -r code; do
	grep -q "^\\.It $code\$" "$nwd1" ||
	    problem "nwd.1: exit status $code is missing"
done < <("$nwd" --help | sed -n '/^Exit status:/,$s/^  \([0-9]\)  .*/\1/p')
kinds=$("$nwd" help push | sed -n 's/^KIND is one of: \(.*\)\.$/\1/p' | tr -d ',')
[ -n "$kinds" ] || problem "nwd help push lists no kinds; its format changed?"
for k in $kinds; do
	grep -qE "(Li|,) $k( |,|$)" "$nwd1" || problem "nwd.1: kind $k is missing"
done
for v in NWD_SERVER NWD_CERT NWD_KEY NWD_CA NWD_AUDIT_DB NWD_AUDIT_PUBKEY; do
	if grep -q "\$$v" <<<"$help_all"; then
		grep -q "Ev $v" "$nwd1" ||
		    problem "nwd.1: environment variable $v is missing"
	fi
done

# --- nwd-ca(8) against "nwd-ca --help" -------------------------------------

nwdca=$NWD_SRCDIR/deploy/nwd-ca
ca8=$doc/nwd-ca.8
if [ -x "$nwdca" ]; then
	ca_help=$("$nwdca" --help)
	while read -r cmd; do
		grep -qE "^\\.It Cm $cmd\$" "$ca8" ||
		    problem "nwd-ca.8: command '$cmd' is missing"
	done < <(sed -n 's/^  nwd-ca \[options\] \([a-z]*\).*/\1/p' <<<"$ca_help" | sort -u)
	while read -r opt; do
		grep -qE -- "(^|[ |])Fl -$opt( |$)" "$ca8" ||
		    problem "nwd-ca.8: option --$opt is missing"
	done < <(grep -oE -- '(^|[ [|(])--[a-z][a-z-]*' <<<"$ca_help" |
	    sed 's/^[^-]*--//' | sort -u)
	while read -r v; do
		grep -q "Ev $v" "$ca8" ||
		    problem "nwd-ca.8: environment variable $v is missing"
	done < <(grep -oE 'NWD_CA_[A-Z_]+' <<<"$ca_help" | sort -u)
else
	problem "$nwdca is missing or not executable"
fi

# --- every page renders cleanly -------------------------------------------

pages=("$doc"/*.[1-8])
if command -v groff >/dev/null; then
	for p in "${pages[@]}"; do
		out=$(groff -mandoc -ww -z "$p" 2>&1) ||
		    problem "${p##*/}: groff failed"
		[ -z "$out" ] || problem "${p##*/}: groff warns: $out"
	done
else
	echo "$prog: groff is not installed; pages not rendered (apt-get install groff-base)"
fi
if command -v mandoc >/dev/null; then
	for p in "${pages[@]}"; do
		out=$(mandoc -T lint -W warning "$p" 2>&1) ||
		    problem "${p##*/}: mandoc -T lint: $out"
	done
fi

if [ "$problems" -gt 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
echo "$prog: ${#pages[@]} pages, $nkeys configuration keys: ok"
