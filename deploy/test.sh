#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it (.ci/run), from a clean clone
# on Debian 12 as root.
#
#   1. installs what is missing (deploy/quickstart.sh deps, plus clang, llvm,
#      and systemd for systemd-analyze: tests/unit/unit_security.sh checks
#      systemd/nwdd.service's exposure in every make check, and mandoc,
#      with which tests/unit/manpages.sh lints the manual pages, and
#      testssl.sh, which tests/integration/test_testssl scans nwdd with, in
#      build/ only: NWD_TESTSSL=0 skips it in build-asan/ and distcheck,
#      and tzdata, against which tests/unit/test_calendar checks its
#      Europe/London, and chromium with libnss3-tools, the headless browser
#      and NSS tools tests/integration/test_console drives the console with
#      (through python3's DevTools driver, tests/browser/cdp.py), and
#      poppler-utils, whose pdftotext reads the PDF that nwd sar --pdf
#      prints with chromium in tests/integration/test_sar_release, and
#      haproxy, which tests/integration/test_haproxy puts in front of
#      two nwdd, and debhelper, dpkg-dev, fakeroot and lintian, with which
#      the deb step builds and checks the Debian packages, and easy-rsa,
#      which deploy/nwd-ca drives, and prometheus, whose promtool
#      tests/unit/observability.sh checks and tests
#      deploy/prometheus/nwd-rules.yml with)
#   2. autoreconf -fi
#   3. build/      gcc, warnings as errors:          make -j2 check
#      then, from the same build, two steps counted as one test each:
#      install     make install DESTDIR=... && make installcheck DESTDIR=...
#                  (tests/install/check-install.sh: the installed files, and
#                  a program built against libnwd through pkg-config)
#      deb         tests/install/check-deb.sh: dpkg-buildpackage -us -uc -b
#                  from a copy of the tree, lintian (no error), the packages
#                  installed into a scratch root with their maintainer
#                  scripts (the nwd user, /var/lib/nwd), the installed nwdd
#                  --migrate and --check-config against a throwaway
#                  PostgreSQL, nwd --help; about 2 minutes; NWD_DEB=0
#                  skips it
#      distcheck   make distcheck: the tarball builds, passes make check,
#                  installs, installchecks and uninstalls.  Its make check
#                  runs the unit tests and test_daemon (the whole suite runs
#                  in build/ and build-asan/ already); NWD_DISTCHECK_TESTS
#                  sets its TESTS ("all": the whole suite)
#      valgrind    the same build under valgrind (memcheck; G14), counted
#                  like a build: every nwdd started by the integration tests
#                  of NWD_VALGRIND_DAEMON_TESTS runs under valgrind, and the
#                  test programs of NWD_VALGRIND_PROGRAMS (the unit tests and
#                  test_store, which links the store) run under it
#                  themselves; any error or definite leak fails the test.
#                  The defaults take about 5 minutes here; "all" runs every
#                  integration test (much longer); NWD_VALGRIND=0 skips it
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
# DIR; the environment of "make check" comes from CHECK_ENV.  Sets built=1
# if the build succeeded.
run_build() {
	local name=$1 dir=$2
	shift 2
	built=0
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
	built=1
	step "$name: make check"
	rm -f "$dir/test-suite.log"
	env "${CHECK_ENV[@]}" make -C "$dir" -j2 check || true
	count_results "$dir"
}

# run_step NAME COMMAND...: runs COMMAND as one test, passed if it exits 0;
# prints how long it took.
run_step() {
	local name=$1 t0 rc=0
	shift
	step "$name: $*"
	t0=$(date +%s)
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "$name: passed in $(($(date +%s) - t0)) s"
	else
		failed=$((failed + 1))
		echo "$prog: $name: failed (exit $rc) after $(($(date +%s) - t0)) s" >&2
	fi
}

# A staged install of the gcc build, and what it installed.
install_check() {
	local dir=$1 dest=$tmproot/destdir
	rm -rf "$dest"
	make -C "$dir" install DESTDIR="$dest" >"$tmproot/install.log" 2>&1 ||
	    { tail -n 30 "$tmproot/install.log"; return 1; }
	make -C "$dir" installcheck DESTDIR="$dest"
}

# The Debian packages (tests/install/check-deb.sh); its skip (not root,
# no dpkg-buildpackage) is said and counted as a pass, as CI always runs it.
deb_check() {
	local rc=0
	"$root/tests/install/check-deb.sh" || rc=$?
	[ "$rc" -ne 77 ] || { echo "$prog: deb: skipped (see above)"; return 0; }
	return "$rc"
}

# make distcheck in DIR; if it fails, the logs of the tests that failed in
# the dist tree it leaves behind.
distcheck() {
	local dir=$1 sub trs
	local -a args=()
	# The whole suite already runs twice (gcc, ASan+UBSan); from the
	# tarball, the unit tests and one daemon test show that what is
	# shipped builds, tests and installs.  NWD_DISTCHECK_TESTS=all: all.
	# shellcheck disable=SC2016
	local tests=${NWD_DISTCHECK_TESTS:-'$(unit_tests) tests/integration/test_daemon'}
	[ "$tests" = all ] || args=(TESTS="$tests")
	# testssl.sh runs once, in build/ (tests/integration/test_testssl.c).
	env "${CHECK_ENV[@]}" NWD_TESTSSL=0 make -C "$dir" -j2 distcheck \
	    "${args[@]}" && return 0
	for sub in "$dir"/nwd-*/_build/sub; do
		[ -d "$sub" ] || continue
		while IFS= read -r trs; do
			printf '\n---- distcheck: %s (last 60 lines) ----\n' \
			    "${trs%.trs}.log"
			tail -n 60 "${trs%.trs}.log" 2>/dev/null || echo "(no log)"
		done < <(find "$sub" -name '*.trs' -exec grep -l -E \
		    '^:test-result: (FAIL|XPASS|ERROR)' {} + 2>/dev/null || true)
	done
	return 1
}

# valgrind's options for every wrapped program: an error or a definite leak
# fails it (tests/run-test.sh and the harness read its log too).
VALGRIND="valgrind --error-exitcode=97 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30"
# The daemon's main paths and its hostile input: handshakes and refusals,
# frames, reload, floods and slow clients, durable replay, the metrics
# endpoint, explain.  (The others pass too but take the pass past its
# budget; NWD_VALGRIND_DAEMON_TESTS=all runs them.)
VALGRIND_DAEMON_TESTS="tests/integration/test_daemon \
tests/integration/test_floods tests/integration/test_durable \
tests/integration/test_metrics tests/integration/test_explain"
# Make syntax, expanded by make.
# shellcheck disable=SC2016
VALGRIND_PROGRAMS='$(unit_tests) tests/integration/test_store'

# vg_check DIR NAME TESTS VAR=VALUE...: make check of TESTS (make syntax:
# '$(unit_tests)' works) in DIR with the environment given, into its own
# suite log NAME.log; adds the results to the totals and shows the logs
# of the tests that failed.
vg_check() {
	local dir=$1 name=$2 tests=$3 log trs mark=$tmproot/$2.mark
	local pass=0 xfail=0 skip=0 fail=0 xpass=0 error=0
	shift 3
	log=$dir/$name.log
	rm -f "$log"
	touch "$mark"
	env "${CHECK_ENV[@]}" "$@" make -C "$dir" -j2 check TESTS="$tests" \
	    TEST_SUITE_LOG="$name.log" >"$tmproot/$name.out" 2>&1 || true
	if [ ! -f "$log" ]; then
		tail -n 30 "$tmproot/$name.out"
		echo "$prog: $name: no $name.log, so no test ran" >&2
		failed=$((failed + 1))
		return
	fi
	eval "$(awk '/^# (PASS|XFAIL|SKIP|FAIL|XPASS|ERROR):/ {
	    k = tolower(substr($2, 1, length($2) - 1)); print k "=" $3 }' "$log")"
	passed=$((passed + pass + xfail))
	failed=$((failed + fail + xpass + error))
	skipped=$((skipped + skip))
	echo "$name: $((pass + xfail)) passed, $((fail + xpass + error)) failed, $skip skipped"
	while IFS= read -r trs; do
		printf '\n---- %s: %s (last 80 lines) ----\n' "$name" \
		    "${trs#"$root"/}"
		tail -n 80 "${trs%.trs}.log" 2>/dev/null || echo "(no log)"
	done < <(find "$dir/tests" -name '*.trs' -newer "$mark" -exec grep -l \
	    -E '^:test-result: (FAIL|XPASS|ERROR)' {} + 2>/dev/null || true)
}

# The valgrind pass over the build in DIR (see the top of this file).
run_valgrind() {
	local dir=$1 t0 pki=$tmproot/valgrind-pki daemon_tests programs
	t0=$(date +%s)
	daemon_tests=${NWD_VALGRIND_DAEMON_TESTS:-$VALGRIND_DAEMON_TESTS}
	programs=${NWD_VALGRIND_PROGRAMS:-$VALGRIND_PROGRAMS}
	# shellcheck disable=SC2016
	[ "$daemon_tests" != all ] || daemon_tests='$(integration_tests)'
	# shellcheck disable=SC2016
	[ "$programs" != all ] ||
	    programs='$(unit_tests) $(integration_tests)'
	step "valgrind: nwdd under valgrind in $daemon_tests"
	command -v valgrind >/dev/null ||
	    { echo "$prog: valgrind: not installed" >&2; failed=$((failed + 1)); return; }
	# One PKI for every test of the pass.
	"$root/deploy/gen-pki.sh" "$pki" >/dev/null ||
	    { echo "$prog: valgrind: gen-pki.sh failed" >&2; failed=$((failed + 1)); return; }
	vg_check "$dir" valgrind-nwdd "$daemon_tests" NWD_TEST_PKI="$pki" \
	    NWD_TEST_DAEMON_WRAPPER="$VALGRIND"
	step "valgrind: the test programs under valgrind: $programs"
	vg_check "$dir" valgrind-programs "$programs" NWD_TEST_PKI="$pki" \
	    NWD_TEST_WRAPPER="$VALGRIND"
	echo "valgrind: $(($(date +%s) - t0)) s in all"
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
"$root/deploy/quickstart.sh" deps clang llvm libclang-rt-dev systemd mandoc \
    valgrind testssl.sh tzdata chromium libnss3-tools python3 \
    poppler-utils haproxy libmosquitto-dev mosquitto \
    debhelper dpkg-dev fakeroot lintian easy-rsa prometheus

[ ! -f "$root/config.status" ] ||
    die "$root is configured in place; run 'make distclean' there first (builds go to build/ and build-asan/)"

step "autoreconf"
mkdir -p m4
autoreconf -fi

CHECK_ENV=(NWD_TEST_TMPROOT="$tmproot")
run_build gcc "$root/build" CC=gcc
if [ "$built" = 1 ]; then
	run_step install install_check "$root/build"
	if [ "${NWD_DEB:-1}" != 0 ]; then
		run_step deb deb_check
	else
		echo "$prog: NWD_DEB=0: the Debian packages are not built"
		skipped=$((skipped + 1))
	fi
	run_step distcheck distcheck "$root/build"
fi
if [ "$built" = 1 ] && [ "${NWD_VALGRIND:-1}" != 0 ]; then
	run_valgrind "$root/build"
elif [ "${NWD_VALGRIND:-1}" = 0 ]; then
	echo "$prog: NWD_VALGRIND=0: the valgrind pass does not run"
	skipped=$((skipped + 1))
fi

san="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CHECK_ENV=(NWD_TEST_TMPROOT="$tmproot" NWD_TESTSSL=0
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
