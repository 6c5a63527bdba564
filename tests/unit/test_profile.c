/*
 * Unit tests for client/profile.c: named connection profiles (issue 21).
 *
 * - A profile's keys, relative paths resolved beside the file, comments;
 *   the file's path from NWD_PROFILES, XDG_CONFIG_HOME or HOME.
 * - Refusals: an unknown profile names those there; a bad line anywhere
 *   (an unknown key, no '=', a key before any [NAME], a key twice, a bad
 *   timeout, a bad or repeated name) is "FILE:LINE: why".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile.h"

static char	dir[] = "/tmp/test_profile.XXXXXX";
static char	file[4200];

static void
write_file(const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(file, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static const char good[] =
    "# the hub's\n"
    "[hub]\n"
    "server = nwd.example.org:7443   # the broker\n"
    "cert = certs/hub.crt\n"
    "key=/etc/nwd/hub.key\n"
    "  ca = ca.crt\n"
    "\n"
    "[police.plt]\n"
    "server = [::1]:7443\n"
    "timeout = 2.5\n"
    "crl = ca.crl\n";

static void
test_load(void **state)
{
	struct profile	p;
	char		err[512], want[4400];
	int		line_error;

	(void)state;
	write_file(good);
	assert_int_equal(profile_load(file, "hub", &p, &line_error, err,
	    sizeof(err)), 0);
	assert_string_equal(p.server, "nwd.example.org:7443");
	snprintf(want, sizeof(want), "%s/certs/hub.crt", dir);
	assert_string_equal(p.cert, want);
	assert_string_equal(p.key, "/etc/nwd/hub.key");
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	assert_string_equal(p.ca, want);
	assert_null(p.crl);
	assert_int_equal(p.timeout_ms, 0);
	profile_clear(&p);

	assert_int_equal(profile_load(file, "police.plt", &p, &line_error,
	    err, sizeof(err)), 0);
	assert_string_equal(p.server, "[::1]:7443");
	assert_null(p.cert);
	assert_int_equal(p.timeout_ms, 2500);
	profile_clear(&p);
}

static void
test_path(void **state)
{
	char buf[4096];

	(void)state;
	setenv("NWD_PROFILES", "/x/p", 1);
	assert_string_equal(profile_path(buf, sizeof(buf)), "/x/p");
	unsetenv("NWD_PROFILES");
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	assert_string_equal(profile_path(buf, sizeof(buf)),
	    "/cfg/nwd/profiles");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	assert_string_equal(profile_path(buf, sizeof(buf)),
	    "/home/u/.config/nwd/profiles");
}

/* Fails unless loading name from text fails with "FILE:want". */
static void
refused(const char *text, const char *name, int line, const char *want)
{
	struct profile	p;
	char		err[512], full[4800];
	int		line_error;

	write_file(text);
	assert_int_equal(profile_load(file, name, &p, &line_error, err,
	    sizeof(err)), -1);
	assert_int_equal(line_error, line);
	snprintf(full, sizeof(full), line ? "%s:%s" : "%s", line ? file :
	    want, want);
	if (strstr(err, full) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, full);
	assert_null(p.server);
}

static void
test_refused(void **state)
{
	char want[4400];

	(void)state;
	snprintf(want, sizeof(want), "no profile \"nope\" in %s (profiles: "
	    "hub, police.plt)", file);
	refused(good, "nope", 0, want);
	refused("", "hub", 0, "(it has none)");
	refused("[hub]\nsever = x:1\n", "hub", 1, "2: unknown key \"sever\"");
	refused("[a]\nserver x:1\n", "a", 1, "2: expected [NAME] or KEY = "
	    "VALUE");
	refused("server = x:1\n[a]\n", "a", 1, "1: \"server\" before any "
	    "[NAME]");
	/* A bad line in another profile is an error too. */
	refused("[a]\nserver = x:1\n[b]\nca = 1\nca = 2\n", "a", 1,
	    "5: ca again in [b]");
	refused("[a]\ntimeout = soon\n", "a", 1, "2: timeout \"soon\" is not "
	    "a positive number of seconds");
	refused("[a]\n[b c]\n", "a", 1, "2: \"b c\" is not a profile name");
	refused("[a]\n[a]\n", "a", 1, "2: profile [a] again");
	refused("[a\n", "a", 1, "1: a section is [NAME]");
	refused("[a]\ncert =\n", "a", 1, "2: cert has no value");
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/profiles", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(file);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
