#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets of tests/fuzz/ and runs each for a
# while (G13).
#
#   deploy/fuzz.sh [SECONDS] [TARGET...]
#                          build every target in build-fuzz/, then run each
#                          named target (default: all) for SECONDS (default
#                          60) from a fresh copy of its seed corpus
#   deploy/fuzz.sh build   only build
#   deploy/fuzz.sh seeds   regenerate the seeds of frame, envelope and json
#                          in tests/fuzz/corpus/ (after a schema change)
#
# Targets: frame envelope policy config identity json verify anchors
# calendar
# (tests/fuzz/fuzz_*.c).
# Seeds: tests/fuzz/corpus/NAME/, plus for policy, config, identity and
# calendar the live files of the tree (deploy/policy.nwd,
# tests/data/bad-policies/, deploy/nwdd.conf.example,
# deploy/principals.conf, deploy/calendar.conf, tests/data/calendar/);
# dictionaries: tests/fuzz/NAME.dict.  The modules they test are compiled
# straight from the source tree with
# clang, -fsanitize=fuzzer,address,undefined and no recovery; no configure
# needed.  A module that does not compile fails only the targets that need
# it.
#
# For each target it prints one line, key=value after the name:
#
#   fuzz: policy runs=123456 exec/s=4100 cov=812 seeds=31 corpus=87 crashes=0
#
# or "fuzz: NAME build=failed".  A crash, leak, timeout (-timeout=10) or
# out-of-memory (-rss_limit_mb=2048) stops the target; its input lands in
# build-fuzz/crashes/NAME-crash-<sha1> (or leak-, timeout-, oom-), and
# the sanitizer's report is printed.  Reproduce with
#
#   build-fuzz/fuzz_NAME build-fuzz/crashes/NAME-crash-<sha1>
#
# The working corpus is build-fuzz/corpus-work/NAME/; NWD_FUZZ_KEEP=1 keeps
# it from the run before instead of starting again from the seeds, and
# NWD_FUZZ_ARGS adds libFuzzer options (-fork=4, -only_ascii=1, ...).  Logs:
# build-fuzz/logs/NAME.log.  Exits non-zero if a target failed to build or
# found anything.
set -euo pipefail

prog=fuzz.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out=$root/build-fuzz
fuzzdir=$root/tests/fuzz
CC=${CC:-clang}

TARGETS="frame envelope policy config identity json verify anchors calendar"

# The modules compiled for the targets.  A target links what it needs from
# them (they go into one static library); a module that grows a dependency
# on another pure module needs that module added here.
MODULES="proto/frame.c proto/envelope.c proto/utf8.c client/pbjson.c daemon/log.c
daemon/config.c daemon/identity.c daemon/policy_lex.c
daemon/policy_parse.c daemon/policy_compile.c daemon/policy_eval.c
daemon/policy_deadline.c daemon/policy_breakglass.c daemon/policy_view.c daemon/consent.c
daemon/redact.c daemon/digest.c daemon/alloc.c daemon/chain.c
client/verify_core.c daemon/calendar.c"

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

command -v "$CC" >/dev/null || die "no $CC (apt-get install clang libclang-rt-dev)"
command -v protoc-c >/dev/null || die "no protoc-c (apt-get install protobuf-c-compiler)"
# libsystemd: log.c writes to the journal through it (the config target
# links log.c).
pkg-config --exists json-c libprotobuf-c libcrypto libsystemd ||
    die "missing json-c, libprotobuf-c, libcrypto or libsystemd development files (deploy/quickstart.sh deps)"

CPPFLAGS="-D_GNU_SOURCE -I$out -I$root/proto -I$root/daemon -I$root/client
$(pkg-config --cflags json-c libprotobuf-c libcrypto libsystemd)"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer $SAN"
LIBS="$(pkg-config --libs json-c libprotobuf-c libcrypto libsystemd) -lm"

# Generates the protobuf-c code and compiles the modules into
# build-fuzz/libnwdfuzz.a, leaving out (and reporting) any that fail.
build_lib() {
	local src obj objs=()
	mkdir -p "$out/obj" "$out/logs"
	protoc-c --c_out="$out" -I "$root/proto" "$root/proto/nwd.proto" ||
	    die "protoc-c failed"
	for src in "$out/nwd.pb-c.c" $MODULES; do
		case $src in /*) ;; *) src=$root/$src ;; esac
		[ -f "$src" ] || continue
		obj=$out/obj/$(basename "${src%.c}").o
		rm -f "$obj"
		# shellcheck disable=SC2086
		if "$CC" $CFLAGS -fsanitize=fuzzer-no-link $CPPFLAGS \
		    -c "$src" -o "$obj"; then
			objs+=("$obj")
		else
			echo "$prog: ${src#"$root"/} does not compile; targets that need it will fail" >&2
		fi
	done
	rm -f "$out/libnwdfuzz.a"
	ar rcs "$out/libnwdfuzz.a" "${objs[@]}"
}

# build_target NAME: links build-fuzz/fuzz_NAME; returns non-zero on failure.
build_target() {
	local t=$1
	rm -f "$out/fuzz_$t"
	# shellcheck disable=SC2086
	"$CC" $CFLAGS -fsanitize=fuzzer $CPPFLAGS "$fuzzdir/fuzz_$t.c" \
	    "$out/libnwdfuzz.a" $LIBS -o "$out/fuzz_$t"
}

# Prints the executions (runs) or executions per second (exec/s) of the run
# logged in $1: libFuzzer's final statistics, or its last status line (-fork
# prints no final statistics).
stat() {
	local v
	case $2 in
	runs)	v=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1")
		[ -n "$v" ] || v=$(sed -n 's/^#\([0-9][0-9]*\)[: \t].*/\1/p' "$1") ;;
	exec/s)	v=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$1")
		[ -n "$v" ] || v=$(sed -n 's/.* exec\/s:* \([0-9][0-9]*\).*/\1/p' "$1") ;;
	esac
	echo "${v:-0}" | tail -n 1
}

# Prints the files of the tree (relative to it) that also seed target $1, so
# that the seeds follow the formats as they change.
live_seeds() {
	case $1 in
	policy)	 echo deploy/policy.nwd
		 (cd "$root" && ls tests/data/bad-policies/*.nwd 2>/dev/null) ;;
	config)	 echo deploy/nwdd.conf.example ;;
	identity) echo deploy/principals.conf ;;
	calendar) echo deploy/calendar.conf
		 (cd "$root" && ls tests/data/calendar/*.conf 2>/dev/null) ;;
	esac
}

# run_target NAME SECONDS: one run and its summary line; returns non-zero
# if the target found something.
run_target() {
	local t=$1 secs=$2 work=$out/corpus-work/$1 log=$out/logs/$1.log
	local seeds=$fuzzdir/corpus/$1 dict=$fuzzdir/$1.dict
	local rc=0 before after nseeds art cov first f
	local args=()

	if [ "${NWD_FUZZ_KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	fi
	mkdir -p "$work" "$out/crashes"
	if [ -d "$seeds" ]; then
		cp -pR "$seeds"/. "$work"/ || true
	fi
	for f in $(live_seeds "$t"); do
		[ ! -f "$root/$f" ] ||
		    cp -p "$root/$f" "$work/live-$(echo "$f" | tr / -)"
	done
	nseeds=$(find "$work" -type f | wc -l)
	[ -f "$dict" ] && args+=("-dict=$dict")
	# shellcheck disable=SC2206
	args+=(${NWD_FUZZ_ARGS:-})
	before=$(find "$out/crashes" -type f -name "$t-*" | sort)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    "$out/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -timeout=10 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
	    "${args[@]}" "$work" >"$log" 2>&1 || rc=$?
	after=$(find "$out/crashes" -type f -name "$t-*" | sort)
	art=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") |
	    grep -v -e '^$' -e '/[^/]*slow-unit-[^/]*$' || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	printf 'fuzz: %s runs=%s exec/s=%s cov=%s seeds=%s corpus=%s crashes=%s\n' \
	    "$t" "$(stat "$log" runs)" "$(stat "$log" exec/s)" "${cov:-0}" \
	    "$nseeds" \
	    "$(find "$work" -type f | wc -l)" \
	    "$([ "$rc" -eq 0 ] && echo 0 || echo 1)"
	[ "$rc" -ne 0 ] || return 0
	printf '\n---- %s: exit %d, input %s (log %s) ----\n' "$t" "$rc" \
	    "${art:-(none saved)}" "${log#"$root"/}"
	first=$(grep -n -m 1 -E '^fuzz_[a-z]+: |==ERROR|runtime error:|ALARM:|out-of-memory|deadly signal' \
	    "$log" | cut -d: -f1 || true)
	if [ -n "$first" ]; then
		tail -n "+$first" "$log" | head -n 60
	else
		tail -n 40 "$log"
	fi
	echo "----"
	return 1
}

# Regenerates the frame, envelope and json seeds with tests/fuzz/make_seeds.c.
make_seeds() {
	local t
	mkdir -p "$out"
	protoc-c --c_out="$out" -I "$root/proto" "$root/proto/nwd.proto" ||
	    die "protoc-c failed"
	# shellcheck disable=SC2086
	"$CC" -std=gnu11 -g -O1 $SAN $CPPFLAGS "$fuzzdir/make_seeds.c" \
	    "$out/nwd.pb-c.c" proto/frame.c proto/envelope.c proto/utf8.c \
	    client/pbjson.c \
	    $LIBS -o "$out/make_seeds" || die "make_seeds does not build"
	for t in frame envelope json; do
		rm -rf "${fuzzdir:?}/corpus/$t"
	done
	"$out/make_seeds" "$fuzzdir/corpus" || die "make_seeds failed"
	for t in frame envelope json; do
		echo "$prog: $(find "$fuzzdir/corpus/$t" -type f | wc -l) seeds in tests/fuzz/corpus/$t/"
	done
}

case ${1:-} in
seeds)	make_seeds; exit 0 ;;
build)	secs=; shift ;;
'')	secs=60 ;;
*[!0-9]*) secs=60 ;;
*)	secs=$1; shift ;;
esac
[ -z "$secs" ] || [ "$secs" -gt 0 ] ||
    die "SECONDS must be at least 1 (libFuzzer reads 0 as \"no limit\")"
selected=${*:-$TARGETS}
for t in $selected; do
	[ -f "$fuzzdir/fuzz_$t.c" ] || die "no target $t (have: $TARGETS)"
done

step "fuzz: building in ${out#"$root"/}/"
build_lib
built=
bad=0
for t in $selected; do
	if build_target "$t"; then
		built="$built $t"
	else
		echo "fuzz: $t build=failed"
		bad=$((bad + 1))
	fi
done
[ -n "$secs" ] || exit $((bad > 0))

step "fuzz: ${secs} s per target:$built"
for t in $built; do
	run_target "$t" "$secs" || bad=$((bad + 1))
done
[ "$bad" -eq 0 ]
