#!/usr/bin/env bash
# readme_config.sh: the README's configuration table matches "nwdd --help".
#
#   - every configuration key of "nwdd --help" is in the first column of
#     the table under "## Configuration" (a row may name several keys),
#     and the table names no key that nwdd does not know;
#   - the defaults agree: a required key says "required"; a key with a
#     default shows it as the row's backticked default (a row of several
#     keys lists theirs in the same order); a key whose default is empty
#     shows no backticked value.
#
# Needs the built daemon/nwdd (NWD_BUILDDIR, default the current directory)
# and the sources (NWD_SRCDIR, default this script's tree).  Writes nothing.
# Exit status: 0 pass, 1 fail (every problem is listed), 99 if nwdd is not
# built.
set -euo pipefail

prog=readme_config.sh
: "${NWD_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${NWD_BUILDDIR:=$PWD}"
nwdd=$NWD_BUILDDIR/daemon/nwdd
readme=$NWD_SRCDIR/README.md

[ -x "$nwdd" ] || { echo "$prog: $nwdd is not built" >&2; exit 99; }

problems=0
problem() {
	printf '%s: %s\n' "$prog" "$*" >&2
	problems=$((problems + 1))
}

# "KEY<TAB>required|empty|default<TAB>DEFAULT", as manpages.sh reads them.
help=$("$nwdd" --help | awk '
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
nhelp=$(printf '%s\n' "$help" | grep -c . || true)
[ "$nhelp" -ge 10 ] ||
    problem "nwdd --help lists $nhelp configuration keys; its format changed?"

# "KEY<TAB>DEFAULT-CELL-VALUE" per key of the table: the value is the
# key's backticked default (by position in its row), "required", or "".
table=$(awk '
	/^## Configuration/ { sect = 1; next }
	sect && /^## / { exit }
	sect && /^\| key \| default \| meaning \|/ { on = 1; next }
	on && !/^\|/ { exit }
	on && /^\|---/ { next }
	on {
		n = split($0, cell, "|")
		nk = 0
		s = cell[2]
		while (match(s, /`[^`]*`/)) {
			k[++nk] = substr(s, RSTART + 1, RLENGTH - 2)
			s = substr(s, RSTART + RLENGTH)
		}
		nd = 0
		s = cell[3]
		while (match(s, /`[^`]*`/)) {
			d[++nd] = substr(s, RSTART + 1, RLENGTH - 2)
			s = substr(s, RSTART + RLENGTH)
		}
		req = cell[3] ~ /required/
		for (i = 1; i <= nk; i++) {
			v = req ? "required" : (nd == nk ? d[i] : (nd > 0 ? "(" nd " defaults for " nk " keys)" : ""))
			printf "%s\t%s\n", k[i], v
		}
	}' "$readme")
ntable=$(printf '%s\n' "$table" | grep -c . || true)
[ "$ntable" -ge 10 ] ||
    problem "found $ntable keys in the README's configuration table; its format changed?"

while IFS=$'\t' read -r key kind def; do
	[ -n "$key" ] || continue
	row=$(printf '%s\n' "$table" | awk -F '\t' -v k="$key" '$1 == k { print "x\t" $2; exit }')
	if [ -z "$row" ]; then
		problem "README.md: the configuration table has no row for $key (nwdd --help lists it)"
		continue
	fi
	cell=${row#x$'\t'}
	case $kind in
	required)
		[ "$cell" = required ] ||
		    problem "README.md: $key is required, but its row says '${cell:-no default}'" ;;
	default)
		[ "$cell" = "$def" ] ||
		    problem "README.md: $key defaults to '$def', but its row says '${cell:-nothing}'" ;;
	empty)
		[ -z "$cell" ] ||
		    problem "README.md: $key has no default, but its row says '$cell'" ;;
	esac
done <<<"$help"

while IFS=$'\t' read -r key _; do
	[ -n "$key" ] || continue
	printf '%s\n' "$help" | awk -F '\t' -v k="$key" '$1 == k { f = 1 } END { exit !f }' ||
	    problem "README.md: the configuration table names $key, which nwdd --help does not list"
done <<<"$table"

if [ "$problems" -ne 0 ]; then
	echo "$prog: $problems problem(s)" >&2
	exit 1
fi
echo "$prog: $nhelp keys, README table in step"
