#!/bin/sh
# layering.sh: the walls between nwdd's modules, read from their #includes.
#
# Fails (exit 1, one line per problem) on:
#   - a circle between daemon modules: calls go down the layers, never back
#     up (a lower module that must reach a higher one takes a callback).
#     A module is a file's name without .c/.h; a family of files that share
#     a prefix and a header (store_conn.c, store_int.h beside store.h) is
#     one module, so the walls inside a family are not counted;
#   - libpq (libpq-fe.h) outside the store family and migrate.c;
#   - OpenSSL's SSL API (openssl/ssl.h, event2/bufferevent_ssl.h) outside
#     tls.c and session.c;
#   - I/O in the decision engine, the policy evaluator or the calendar
#     (calendar.c; its file is read by calendar_load.c): an include of a
#     header that does I/O or reads a clock (log.h, store.h, session.h,
#     time.h, unistd.h, fcntl.h, sys/socket.h, event2/*, libpq-fe.h,
#     openssl/ssl.h), or a call that does (printf, fprintf, fopen, fread,
#     fwrite, puts, clock_gettime, time, gettimeofday, syslog, log_*).
#
# Usage: tests/unit/layering.sh [DAEMON_DIR]   (default: the tree's daemon/)
set -u

dir=${1:-${NWD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/daemon}
[ -d "$dir" ] || { echo "layering.sh: no directory $dir" >&2; exit 2; }
cd "$dir" || exit 2

# The pure modules: the decision engine, the policy evaluator (the
# evaluator is policy_eval.c once the policy is split, policy.c before)
# and the calendar's arithmetic and grammar.
pure=$(ls decide*.c policy_eval.c policy_deadline.c policy_breakglass.c \
    console_html.c \
    calendar.c consent.c grant.c \
    2>/dev/null)
[ -f policy_eval.c ] || pure="$pure policy.c"

for f in *.c *.h; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f" |
	    while read -r inc; do printf '%s %s\n' "$f" "$inc"; done
done | awk -v pure="$pure" -v heads="$(ls *.h | tr '\n' ' ')" '
function module(file,   m, p) {
	m = file
	sub(/\.[ch]$/, "", m)
	# A family: the part before the first "_" names a header of its own.
	p = m
	if (sub(/_.*$/, "", p) && (p ".h") in header)
		return p
	return m
}
function problem(s) { print s; bad = 1 }
function visit(n,   i, m) {
	state[n] = 1
	stack[++depth] = n
	for (i = 1; i <= nedge[n]; i++) {
		m = edge[n, i]
		if (state[m] == 1) {
			cyc = m
			for (k = depth; k >= 1 && stack[k] != m; k--)
				;
			line = ""
			for (; k <= depth; k++)
				line = line stack[k] " -> "
			key = canonical(line m)
			if (!(key in seen)) {
				seen[key] = 1
				problem("circle: " line m)
			}
		} else if (state[m] == 0)
			visit(m)
	}
	depth--
	state[n] = 2
}
# The same circle found from another start is reported once.
function canonical(s,   parts, n, i, lo, out) {
	n = split(s, parts, / -> /)
	n--	# the last repeats the first
	lo = 1
	for (i = 2; i <= n; i++)
		if (parts[i] < parts[lo])
			lo = i
	out = ""
	for (i = 0; i < n; i++)
		out = out parts[(lo + i - 1) % n + 1] " "
	return out
}
BEGIN {
	split(heads, h, " ")
	for (i in h)
		header[h[i]] = 1
	split(pure, pp, " ")
	for (i in pp)
		ispure[pp[i]] = 1
}
{
	file = $1
	inc = $2
	name = substr(inc, 2, length(inc) - 2)
	m = module(file)
	if (name == "libpq-fe.h" && m != "store" && file != "migrate.c")
		problem(file ": includes libpq-fe.h outside the store family")
	if ((name == "openssl/ssl.h" || name == "event2/bufferevent_ssl.h") &&
	    file != "tls.c" && file != "session.c" && file != "tls.h")
		problem(file ": includes " name ", the SSL API, outside tls.c and session.c")
	if (file in ispure && (name ~ /^(log|store|session|server)\.h$/ ||
	    name ~ /^(time|unistd|fcntl|sys\/socket|libpq-fe|openssl\/ssl)\.h$/ ||
	    name ~ /^event2\//))
		problem(file ": the pure module includes " name ", which does I/O or reads a clock")
	if (substr(inc, 1, 1) != "\"" || !(name in header))
		next
	t = module(name)
	if (t == m || ((m, t) in known))
		next
	known[m, t] = 1
	edge[m, ++nedge[m]] = t
	nodes[m] = 1
	nodes[t] = 1
}
END {
	for (n in nodes)
		if (state[n] == 0)
			visit(n)
	exit bad
}'
rc=$?

for f in $pure; do
	[ -f "$f" ] || continue
	grep -nE '(^|[^_[:alnum:]])(printf|fprintf|vfprintf|dprintf|fopen|fread|fwrite|puts|fputs|clock_gettime|time|gettimeofday|syslog|log_[a-z]+)[[:space:]]*\(' "$f" |
	    grep -vE '^[0-9]+:[[:space:]]*(/?\*|//)' |
	    sed "s|^\([0-9]*\):.*|$f:\1: the pure module does I/O or reads a clock|" |
	    grep . && rc=1
done

[ "$rc" -eq 0 ] && echo "layering: ok ($(ls *.c | wc -l) files)"
exit "$rc"
