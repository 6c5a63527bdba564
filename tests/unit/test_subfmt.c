/*
 * Unit tests for client/subfmt.c: "nwd sub --format" and "--pretty"
 * (issue 21).
 *
 * - Templates: fields by name, body fields by path, %{created}, escapes
 *   (\n \t \\) and %%; a field not set prints as nothing, an object as
 *   JSON, control characters from others as '?'.
 * - Bad templates are refused with the reason: an unknown field, an
 *   unclosed %{, a lone %, an unknown escape.
 * - --pretty: several lines with the kind, subject, priority, sender and
 *   body; ANSI colours only when asked, and asked only on a terminal
 *   without NO_COLOR.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json.h>

#include "subfmt.h"

static json_object *
delivery(void)
{
	json_object *d;

	d = json_tokener_parse("{\"delivery_id\": 7, \"message_id\": "
	    "\"0193b6c4-1111-7000-8000-000000000001\", \"sender\": "
	    "\"plo-ana\", \"agency\": \"police\", \"kind\": \"risk_alert\", "
	    "\"subject\": \"YP-001\", \"marking\": \"OFFICIAL\", \"priority\": "
	    "\"HIGH\", \"created_unix_ms\": 1733616000123, "
	    "\"fields_withheld\": [\"location\"], \"rule\": \"r1\", "
	    "\"policy_version\": \"sha256:ab\", \"body\": {\"level\": \"HIGH\", "
	    "\"summary\": \"line one\\u001b[2J\", \"location\": {\"town\": "
	    "\"Norwich\"}}}");
	assert_non_null(d);
	return d;
}

/* What t prints for the test delivery. */
static const char *
render(const char *tmpl)
{
	static char	 out[4096];
	struct subfmt	*t;
	json_object	*d = delivery();
	FILE		*f;
	char		 err[512];

	if ((t = subfmt_compile(tmpl, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", tmpl, err);
	memset(out, 0, sizeof(out));
	assert_non_null(f = fmemopen(out, sizeof(out) - 1, "w"));
	subfmt_print(f, t, d);
	assert_int_equal(fclose(f), 0);
	subfmt_free(t);
	json_object_put(d);
	return out;
}

static void
refused(const char *tmpl, const char *want)
{
	struct subfmt	*t;
	char		 err[512];

	t = subfmt_compile(tmpl, err, sizeof(err));
	assert_null(t);
	if (strstr(err, want) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", tmpl, err, want);
}

static void
test_templates(void **state)
{
	(void)state;
	assert_string_equal(render("%{message_id} %{kind} %{subject}"),
	    "0193b6c4-1111-7000-8000-000000000001 risk_alert YP-001\n");
	assert_string_equal(render("%{body.level}\\t%{body.location.town}"),
	    "HIGH\tNorwich\n");
	assert_string_equal(render("%{created}|%{created_unix_ms}"),
	    "2024-12-08T00:00:00.123Z|1733616000123\n");
	assert_string_equal(render("100%% %{delivery_id}\\n\\\\"),
	    "100% 7\n\\\n");
	/* Not set: nothing; objects and arrays: JSON; controls: '?'. */
	assert_string_equal(render("[%{nhs_number}][%{body.missing}]"),
	    "[][]\n");
	assert_string_equal(render("%{fields_withheld} %{body.location}"),
	    "[\"location\"] {\"town\":\"Norwich\"}\n");
	assert_string_equal(render("%{body.summary}"), "line one?[2J\n");
	assert_string_equal(render("plain"), "plain\n");
	assert_string_equal(render(""), "\n");
}

static void
test_bad_templates(void **state)
{
	(void)state;
	refused("%{kindd}", "no field \"kindd\"");
	refused("%{body.}", "no field \"body.\"");
	refused("%{kind", "'%' at 1");
	refused("50% off", "'%' at 3");
	refused("a\\qb", "is no escape");
	refused("%{}", "no field \"\"");
}

static void
test_pretty(void **state)
{
	static char	 out[4096];
	json_object	*d = delivery();
	FILE		*f;

	(void)state;
	assert_non_null(f = fmemopen(out, sizeof(out) - 1, "w"));
	subfmt_pretty(f, d, 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(out, "risk_alert about YP-001  HIGH  "
	    "OFFICIAL\n"));
	assert_non_null(strstr(out, "  from plo-ana (police) at "
	    "2024-12-08T00:00:00.123Z\n"));
	assert_non_null(strstr(out, "  withheld [\"location\"]\n"));
	assert_non_null(strstr(out, "\"town\": \"Norwich\""));
	/* The body is JSON: its control characters are escaped. */
	assert_non_null(strstr(out, "line one\\u001b[2J"));
	assert_null(strchr(out, '\033'));

	memset(out, 0, sizeof(out));
	assert_non_null(f = fmemopen(out, sizeof(out) - 1, "w"));
	subfmt_pretty(f, d, 1);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(out, "\033[1;36mrisk_alert\033[0m"));
	assert_non_null(strstr(out, "\033[33mHIGH\033[0m"));
	/* The body's own escape is still cleaned. */
	assert_null(strstr(out, "\033[2J"));
	json_object_put(d);
}

static void
test_colour_only_on_a_terminal(void **state)
{
	int	pipefd[2], master, slave = -1;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	unsetenv("NO_COLOR");
	assert_int_equal(subfmt_want_colour(pipefd[1]), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) == -1 ||
	    grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) == -1) {
		skip();
		return;
	}
	assert_int_equal(subfmt_want_colour(slave), 1);
	setenv("NO_COLOR", "", 1);
	assert_int_equal(subfmt_want_colour(slave), 1);
	setenv("NO_COLOR", "1", 1);
	assert_int_equal(subfmt_want_colour(slave), 0);
	unsetenv("NO_COLOR");
	close(slave);
	close(master);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_colour_only_on_a_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
