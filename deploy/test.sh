#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it (.ci/run), from a clean clone
# on Debian 12 as root.
#
#   1. installs what is missing (deploy/quickstart.sh deps, plus clang, llvm)
#   2. autoreconf -fi
#   3. build/      gcc, warnings as errors:          make -j2 check
#   4. build-asan/ clang, ASan + UBSan, no recovery:   make -j2 check
#   5. build-fuzz/ the libFuzzer targets of tests/fuzz/, each run for
#      NWD_FUZZ_SECONDS (default 20; 0 skips them) by deploy/fuzz.sh
#
# The integration tests start their own PostgreSQL through tests/run-test.sh;
# any cluster a killed test left behind is destroyed on the way out.
# Prints the tail of each failing test's log, and ends with the line
# "N passed, N failed" summed over both builds and the fuzz targets (a build
# that fails counts as one failure; so does each fuzz target that fails to
# build or finds a crash).  Exits non-zero if anything failed.
set -euo pipefail

prog=test.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

passed=0
failed=0
skipped=0

tmproot=$(mktemp -d "${TMPDIR:-/tmp}/nwd-tests.XXXXXX")
export NWD_TEST_TMPROOT=$tmproot

cleanup() {
	local rc=$? d
	trap - EXIT INT TERM HUP
	for d in "$tmproot"/*/pg; do
		[ -d "$d" ] || continue
		echo "$prog: destroying a PostgreSQL left behind in $d" >&2
		"$root/deploy/pg.sh" destroy "$d" || rc=1
	done
	rm -rf -- "$tmproot"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Adds the results of one build's test-suite.log to the totals and shows the
# logs of the tests that failed.
count_results() {
	local dir=$1 log=$1/test-suite.log trs n
	local pass=0 xfail=0 skip=0 fail=0 xpass=0 error=0
	if [ ! -f "$log" ]; then
		echo "$prog: $dir: no test-suite.log, so no test ran" >&2
		failed=$((failed + 1))
		return
	fi
	eval "$(awk '/^# (PASS|XFAIL|SKIP|FAIL|XPASS|ERROR):/ {
	    k = tolower(substr($2, 1, length($2) - 1)); print k "=" $3 }' "$log")"
	passed=$((passed + pass + xfail))
	failed=$((failed + fail + xpass + error))
	skipped=$((skipped + skip))
	echo "$dir: $((pass + xfail)) passed, $((fail + xpass + error)) failed, $skip skipped"
	while IFS= read -r trs; do
		n=${trs%.trs}.log
		printf '\n---- %s (last 60 lines) ----\n' "${n#"$root"/}"
		tail -n 60 "$n" 2>/dev/null || echo "(no log)"
	done < <(find "$dir" -name '*.trs' -exec grep -l -E \
	    '^:test-result: (FAIL|XPASS|ERROR)' {} + 2>/dev/null || true)
}

# run_build NAME DIR [configure arguments...]: configure, build and check in
# DIR; the environment of "make check" comes from CHECK_ENV.
run_build() {
	local name=$1 dir=$2
	shift 2
	step "$name: configure in ${dir#"$root"/}/"
	mkdir -p "$dir"
	if ! (cd "$dir" && ../configure "$@"); then
		echo "$prog: $name: configure failed" >&2
		failed=$((failed + 1))
		return
	fi
	step "$name: make"
	if ! make -C "$dir" -j2; then
		echo "$prog: $name: the build failed" >&2
		failed=$((failed + 1))
		return
	fi
	step "$name: make check"
	rm -f "$dir/test-suite.log"
	env "${CHECK_ENV[@]}" make -C "$dir" -j2 check || true
	count_results "$dir"
}

# Runs deploy/fuzz.sh for SECONDS per target and counts each target as one
# test: passed if it built and found nothing.
run_fuzz() {
	local secs=$1 out=$tmproot/fuzz.out line n=0 bad=0
	step "fuzz: deploy/fuzz.sh $secs"
	"$root/deploy/fuzz.sh" "$secs" 2>&1 | tee "$out" || true
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		*" crashes=0") passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)); bad=$((bad + 1)) ;;
		esac
	done < <(grep -E '^fuzz: [a-z_]+ ' "$out" || true)
	if [ "$n" -eq 0 ]; then
		echo "$prog: fuzz.sh reported no target" >&2
		failed=$((failed + 1))
	fi
	echo "build-fuzz: $((n - bad)) passed, $bad failed"
}

step "dependencies"
"$root/deploy/quickstart.sh" deps clang llvm libclang-rt-dev

[ ! -f "$root/config.status" ] ||
    die "$root is configured in place; run 'make distclean' there first (builds go to build/ and build-asan/)"

step "autoreconf"
mkdir -p m4
autoreconf -fi

CHECK_ENV=(NWD_TEST_TMPROOT="$tmproot")
run_build gcc "$root/build" CC=gcc

san="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CHECK_ENV=(NWD_TEST_TMPROOT="$tmproot"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
run_build asan "$root/build-asan" CC=clang CFLAGS="$san" LDFLAGS="$san"

if [ "${NWD_FUZZ_SECONDS:-20}" = 0 ]; then
	echo "$prog: NWD_FUZZ_SECONDS=0: the fuzz targets do not run"
	skipped=$((skipped + 1))
else
	run_fuzz "${NWD_FUZZ_SECONDS:-20}"
fi

echo
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
