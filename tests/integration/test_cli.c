/*
 * The nwd tool's modes for integrators (issue 21), against a real nwdd
 * and PostgreSQL:
 *
 * - push --lines: one message per line of stdin, header and body, in one
 *   session (one connect row for all of them), one result line each with
 *   its line number; a bad line (not JSON, an unknown field, a field
 *   given twice, an invalid envelope) or a refused one does not stop the
 *   others, and the exit status is the first failure's.
 * - Names in any case: kinds, enums, actions, formats; lowerCamelCase
 *   field names; a key twice refused, naming the key and the line.
 * - sub --format and --pretty, and the refusal of a wildcard subject.
 * - Connection profiles: --profile and $NWD_PROFILE, their precedence,
 *   and their errors.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

static const char *
dir_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", haystack, needle);
}

/* The line of out that starts with prefix, copied into line, or fails. */
static const char *
line_of(const char *out, const char *prefix, char *line, size_t len)
{
	const char	*p = out, *nl;
	size_t		 n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(line, len, "%.*s", (int)n, p);
			return line;
		}
		p += n + (nl != NULL);
	}
	fail_msg("no line starting %s in:\n%s", prefix, out);
	return NULL;
}

/*
 * Runs nwd ARGS as who (as harness_run_nwd() does) with input on its
 * stdin; its stdout into out.  Returns its exit status, or fails.
 */
static int
run_stdin(char *out, size_t outlen, const char *who, const char *input,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
run_stdin(char *out, size_t outlen, const char *who, const char *input,
    const char *fmt, ...)
{
	struct nwd_opts	 o = harness_client(who);
	char		 path[4096], args[2048], cmd[8192];
	FILE		*fp;
	size_t		 n = 0, r;
	va_list		 ap;
	int		 status;

	snprintf(path, sizeof(path), "%s/stdin.txt",
	    dir_env("NWD_TEST_TMP", "/tmp"));
	if ((fp = fopen(path, "w")) == NULL || fputs(input, fp) == EOF ||
	    fclose(fp) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "NWD_SERVER=%s NWD_CERT=%s NWD_KEY=%s "
	    "NWD_CA=%s %s/client/nwd %s <%s", o.server, o.cert, o.key, o.ca,
	    dir_env("NWD_BUILDDIR", NWD_BUILDDIR), args, path);
	fflush(NULL);
	if ((fp = popen(cmd, "r")) == NULL)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	while (n + 1 < outlen && (r = fread(out + n, 1, outlen - 1 - n,
	    fp)) > 0)
		n += r;
	out[n] = '\0';
	status = pclose(fp);
	if (n + 1 >= outlen || status == -1 || !WIFEXITED(status))
		fail_msg("%s: output too long or no normal exit", cmd);
	return WEXITSTATUS(status);
}

/* The message id of a result line, into mid. */
static void
message_id(const char *line, char mid[40])
{
	const char *p;

	if ((p = strstr(line, "\"message_id\":\"")) == NULL)
		fail_msg("no message_id in %s", line);
	p += strlen("\"message_id\":\"");
	snprintf(mid, 40, "%.36s", p);
}

#define ALERT_BODY	"{\"category\":\"GOING_MISSING\",\"level\":\"HIGH\"," \
			    "\"summary\":\"not back at the hub by ten\"}"

static void
test_push_lines(void **state)
{
	struct harness_daemon	*d;
	static char		 out[16384];
	char			 line[1024], mid1[40], mid5[40];
	long			 connects;
	static const char	 input[] =
	    /* 1: all there */
	    "{\"kind\":\"risk_alert\",\"subject\":\"YP-201\","
	    "\"priority\":\"HIGH\",\"body\":" ALERT_BODY "}\n"
	    /* 2: not JSON */
	    "{\"kind\":\"risk_alert\",\n"
	    /* 3: blank, skipped */
	    "   \n"
	    /* 4: an unknown field */
	    "{\"kind\":\"risk_alert\",\"subject\":\"YP-201\",\"colour\":1}\n"
	    /* 5: the kind from the command line, a camelCase name */
	    "{\"subject\":\"YP-202\",\"shareWith\":[\"duty-mash\"],"
	    "\"body\":" ALERT_BODY "}\n"
	    /* 6: an invalid envelope (the NHS number's check digit) */
	    "{\"subject\":\"YP-203\",\"nhsNumber\":\"9434765918\","
	    "\"body\":" ALERT_BODY "}\n"
	    /* 7: the same field twice, under its two names */
	    "{\"subject\":\"YP-203\",\"share_with\":[],\"shareWith\":[]}\n"
	    /* 8: a key twice */
	    "{\"subject\":\"YP-203\",\"subject\":\"YP-204\"}\n";

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	connects = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'connect' AND actor = "
	    "'plo-ana'");
	assert_int_equal(run_stdin(out, sizeof(out), "plo-ana", input,
	    "push --lines risk_alert"), 2);
	/* One session for them all. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'connect' AND actor = "
	    "'plo-ana'"), connects + 1);

	message_id(line_of(out, "{\"line\":1,", line, sizeof(line)), mid1);
	assert_contains(line, "\"recipients\":");
	line_of(out, "{\"line\":2,", line, sizeof(line));
	assert_contains(line, "\"error\":\"invalid JSON");
	assert_contains(line, "\"exit\":2");
	assert_null(strstr(out, "{\"line\":3,"));
	line_of(out, "{\"line\":4,", line, sizeof(line));
	assert_contains(line, "unknown field 'colour'");
	message_id(line_of(out, "{\"line\":5,", line, sizeof(line)), mid5);
	line_of(out, "{\"line\":6,", line, sizeof(line));
	assert_contains(line, "invalid envelope");
	assert_contains(line, "\"exit\":2");
	line_of(out, "{\"line\":7,", line, sizeof(line));
	assert_contains(line, "given twice");
	line_of(out, "{\"line\":8,", line, sizeof(line));
	assert_contains(line, "duplicate key 'subject' at line 1, column 21");

	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish' AND actor = 'plo-ana' "
	    "AND message_id IN ('%s', '%s')", mid1, mid5), 2);

	/* Every line good: exit 0; a refused line (sw-ben may not publish
	 * intelligence) does not stop the next. */
	assert_int_equal(run_stdin(out, sizeof(out), "plo-ana",
	    "{\"kind\":\"risk_alert\",\"subject\":\"YP-204\",\"body\":"
	    ALERT_BODY "}\n", "push --lines"), 0);
	line_of(out, "{\"line\":1,", line, sizeof(line));
	assert_int_equal(run_stdin(out, sizeof(out), "sw-ben",
	    "{\"kind\":\"intelligence_report\",\"subject\":\"YP-204\","
	    "\"body\":{\"grading\":{\"source_evaluation\":1,"
	    "\"assessment\":\"A\",\"handling_code\":\"HANDLING_P\"},"
	    "\"sanitised\":true,\"summary\":\"x\"}}\n"
	    "{\"kind\":\"risk_alert\",\"subject\":\"YP-204\",\"body\":"
	    ALERT_BODY "}\n", "push --lines"), 1);
	line_of(out, "{\"line\":1,", line, sizeof(line));
	assert_contains(line, "\"exit\":1");
	line_of(out, "{\"line\":2,\"message_id\":", line, sizeof(line));
	assert_int_equal(harness_daemon_stop(d), 0);
}

/*
 * Names in any case, everywhere alike: a kind, the body's enums and the
 * header's in push, a kind in sub --kind, an action and a format in
 * audit query; proto3's lowerCamelCase field names in a body.
 */
static void
test_names_in_any_case(void **state)
{
	struct harness_daemon	*d;
	static char		 out[16384];
	char			 mid[40], line[1024];

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	assert_int_equal(run_stdin(out, sizeof(out), "plo-ana",
	    "{\"category\": \"going_missing\", \"Level\": 1}",
	    "push Risk_Alert --subject YP-301 -"), 2);
	assert_int_equal(run_stdin(out, sizeof(out), "plo-ana",
	    "{\"category\": \"going_missing\", \"level\": \"High\", "
	    "\"summary\": \"x\", \"location\": {\"town\": \"Norwich\"}}",
	    "push RISK_ALERT --subject YP-301 --priority high "
	    "--marking official-sensitive --basis SAFEGUARDING -"), 0);
	message_id(out, mid);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "audit query --action PUBLISH --message %s --format JSON", mid),
	    0);
	line_of(out, "{", line, sizeof(line));
	assert_contains(line, "\"action\":\"publish\"");
	assert_contains(line, "\"kind\":\"risk_alert\"");
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "sub --kind RISK_ALERT --kind Missing_Episode --idle-exit 0.2"),
	    6);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "sub --kind risk-alert"), 2);
	assert_int_equal(harness_daemon_stop(d), 0);
}

#define WAIT_MS	10000

/* Waits for a line holding needle on the child's stdout, or fails. */
static void
want_line(struct harness_child *c, const char *needle, char *line,
    size_t len)
{
	if (!harness_child_wait_line(c, 1, needle, WAIT_MS, line, len))
		fail_msg("no line with \"%s\" from nwd sub in %d ms; it "
		    "wrote:\n--- stdout\n%s--- stderr\n%s", needle, WAIT_MS,
		    harness_child_output(c, 1), harness_child_output(c, 2));
}

/* nwd sub as who with args, once the broker has accepted it. */
static struct harness_child *
sub(const char *who, const char *args)
{
	struct harness_child	*c;

	assert_non_null(c = harness_nwd_spawn(who, "sub %s", args));
	if (!harness_child_wait_line(c, 2, "nwd: subscribed id=", WAIT_MS,
	    NULL, 0))
		fail_msg("nwd sub %s did not subscribe:\n%s", args,
		    harness_child_output(c, 2));
	return c;
}

/* plo-ana pushes a RiskAlert about subject; its id into mid. */
static void
push_alert(const char *subject, char mid[40])
{
	static char out[4096];

	assert_int_equal(run_stdin(out, sizeof(out), "plo-ana", ALERT_BODY,
	    "push risk_alert --subject %s --priority HIGH -", subject), 0);
	message_id(out, mid);
}

/*
 * sub --format prints the fields its template names, one line each;
 * --pretty several lines, without colour on a pipe; a subject filter with
 * a wildcard is refused, as a usage error, before connecting.
 */
static void
test_sub_format_pretty(void **state)
{
	struct harness_daemon	*d;
	struct harness_child	*f, *p;
	static char		 out[4096];
	char			 mid[40], want[256], line[1024];

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	fixture_allocate("YP-401", "hub:norwich", 0);
	f = sub("hubsys-norwich", "--kind risk_alert --subject YP-401 "
	    "--count 1 --format '%{message_id}|%{kind}|%{subject}|"
	    "%{body.level}|%{priority}|%%'");
	p = sub("hubsys-norwich", "--kind risk_alert --subject YP-401 "
	    "--count 1 --pretty");
	push_alert("YP-401", mid);
	snprintf(want, sizeof(want), "%s|risk_alert|YP-401|HIGH|HIGH|%%",
	    mid);
	want_line(f, want, line, sizeof(line));
	assert_string_equal(line, want);
	assert_int_equal(harness_child_wait(f, WAIT_MS), 0);
	want_line(p, "risk_alert about YP-401  HIGH  OFFICIAL", line,
	    sizeof(line));
	want_line(p, "  from plo-ana (police) at ", line, sizeof(line));
	snprintf(want, sizeof(want), "  message %s", mid);
	want_line(p, want, line, sizeof(line));
	want_line(p, "\"summary\": \"not back at the hub by ten\"", line,
	    sizeof(line));
	assert_int_equal(harness_child_wait(p, WAIT_MS), 0);
	assert_null(strchr(harness_child_output(p, 1), '\033'));
	harness_child_free(f);
	harness_child_free(p);

	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "sub --subject 'YP-*' 2>%s/err.txt",
	    dir_env("NWD_TEST_TMP", "/tmp")), 2);
	assert_int_equal(harness_sh("grep -q 'wildcards are not supported "
	    "in subject filters' %s/err.txt",
	    dir_env("NWD_TEST_TMP", "/tmp")), 0);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "sub --format '%%{nope}'"), 2);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "sub --pretty --format x"), 2);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* Runs "ENV nwd ARGS" with stdin from /dev/null; its stdout into out,
 * stderr into NWD_TEST_TMP/err.txt.  Returns its exit status. */
static int
run_env(char *out, size_t outlen, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
run_env(char *out, size_t outlen, const char *env, const char *fmt, ...)
{
	char		 args[2048], cmd[8192];
	FILE		*fp;
	size_t		 n = 0, r;
	va_list		 ap;
	int		 status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "env -u NWD_SERVER -u NWD_CERT -u NWD_KEY "
	    "-u NWD_CA -u NWD_PROFILE %s %s/client/nwd %s </dev/null "
	    "2>%s/err.txt", env, dir_env("NWD_BUILDDIR", NWD_BUILDDIR), args,
	    dir_env("NWD_TEST_TMP", "/tmp"));
	fflush(NULL);
	if ((fp = popen(cmd, "r")) == NULL)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	while (n + 1 < outlen && (r = fread(out + n, 1, outlen - 1 - n,
	    fp)) > 0)
		n += r;
	out[n] = '\0';
	status = pclose(fp);
	if (n + 1 >= outlen || status == -1 || !WIFEXITED(status))
		fail_msg("%s: output too long or no normal exit", cmd);
	return WEXITSTATUS(status);
}

/* Fails unless the stderr of the last run_env() holds needle. */
static void
said(const char *needle)
{
	char	path[4096], buf[8192];
	FILE	*f;
	size_t	n;

	snprintf(path, sizeof(path), "%s/err.txt",
	    dir_env("NWD_TEST_TMP", "/tmp"));
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot read %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_contains(buf, needle);
}

/*
 * nwd --profile NAME (or $NWD_PROFILE) connects with the profile's
 * settings, from $NWD_PROFILES; the command line overrides the profile,
 * and the profile the environment; an unknown profile and a bad line are
 * usage errors naming what is wrong.
 */
static void
test_profiles(void **state)
{
	struct harness_daemon	*d;
	struct nwd_opts		 o;
	static char		 out[8192];
	char			 path[4096], env[4400], wrong[64];
	FILE			*f;

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	o = harness_client("hubsys-norwich");
	snprintf(path, sizeof(path), "%s/profiles",
	    dir_env("NWD_TEST_TMP", "/tmp"));
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "# test\n"
	    "[hub]\nserver = %s\ncert = %s\nkey = %s\nca = %s\n"
	    "timeout = 5\n\n[elsewhere]\nserver = 127.0.0.1:%d\n",
	    o.server, o.cert, o.key, o.ca, harness_free_port()) < 0 ||
	    fclose(f) != 0)
		fail_msg("cannot write %s", path);
	snprintf(env, sizeof(env), "NWD_PROFILES=%s", path);
	snprintf(wrong, sizeof(wrong), "127.0.0.1:%d", harness_free_port());

	assert_int_equal(run_env(out, sizeof(out), env, "--profile hub "
	    "whoami"), 0);
	assert_contains(out, "\"id\":\"hubsys-norwich\"");
	assert_int_equal(run_env(out, sizeof(out), env, "whoami --profile=hub"),
	    0);
	/* The profile over the environment... */
	snprintf(env, sizeof(env), "NWD_PROFILES=%s NWD_PROFILE=hub "
	    "NWD_SERVER=%s", path, wrong);
	assert_int_equal(run_env(out, sizeof(out), env, "whoami"), 0);
	assert_contains(out, "\"id\":\"hubsys-norwich\"");
	/* ...and the command line over the profile. */
	assert_int_equal(run_env(out, sizeof(out), env, "--server %s whoami",
	    wrong), 3);
	snprintf(env, sizeof(env), "NWD_PROFILES=%s", path);
	assert_int_equal(run_env(out, sizeof(out), env, "--profile elsewhere "
	    "--cert %s --key %s --ca %s whoami", o.cert, o.key, o.ca), 3);

	assert_int_equal(run_env(out, sizeof(out), env, "--profile nope "
	    "whoami"), 2);
	said("no profile \"nope\" in ");
	said("(profiles: hub, elsewhere)");
	if ((f = fopen(path, "a")) == NULL || fputs("[broken]\nsever = x\n",
	    f) < 0 || fclose(f) != 0)
		fail_msg("cannot append to %s", path);
	assert_int_equal(run_env(out, sizeof(out), env, "--profile hub "
	    "whoami"), 2);
	said("profiles:12: unknown key \"sever\"");
	assert_int_equal(harness_daemon_stop(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_lines),
		cmocka_unit_test(test_names_in_any_case),
		cmocka_unit_test(test_sub_format_pretty),
		cmocka_unit_test(test_profiles),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
