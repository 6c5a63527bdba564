/*
 * Unit tests for daemon/console_html.c, the pure helpers of the auditor's
 * console.
 *
 * - Every value is HTML text: markup, quotes and bytes that are not UTF-8
 *   never reach the page as they are.
 * - A CSV cell never starts a formula (= + - @ tab CR get a '), control
 *   characters are \xHH, quoting as RFC 4180.
 * - JSON strings escape quotes, backslashes, controls and '<'.
 * - Local times: both BST and GMT, the spring gap, and a malformed or
 *   impossible date refused with a sentence.
 * - Labels (console_labels.c): the shipped file's format, a label found
 *   or the name itself, bad lines refused with file and line.
 * - Charts (console_chart.c): SVG with no script and no style attribute,
 *   labels escaped, bars to scale, the weeks of UK dates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "console_html.h"

static char *
text(const char *s, void (*fn)(struct chtml *, const char *))
{
	static char	out[1024];
	struct chtml	b;

	chtml_init(&b);
	fn(&b, s);
	assert_true(chtml_ok(&b));
	snprintf(out, sizeof(out), "%s", b.p != NULL ? b.p : "");
	chtml_free(&b);
	return out;
}

static char *
csv(const char *s)
{
	static char	out[1024];
	struct chtml	b;

	chtml_init(&b);
	chtml_csv(&b, s, 1);
	snprintf(out, sizeof(out), "%s", b.p);
	chtml_free(&b);
	return out;
}

static void
test_html(void **state)
{
	(void)state;
	assert_string_equal(text("<script>alert('x')</script> & \"q\"",
	    chtml_text), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
	    "&amp; &quot;q&quot;");
	assert_string_equal(text("YP-001", chtml_text), "YP-001");
	assert_string_equal(text("caf\xc3\xa9", chtml_text), "caf\xc3\xa9");
	/* Not UTF-8, and a control: the replacement character. */
	assert_string_equal(text("a\xff" "b\x01", chtml_text),
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	assert_string_equal(text("\xed\xa0\x80", chtml_text),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(text(NULL, chtml_text), "");
}

static void
test_csv(void **state)
{
	(void)state;
	assert_string_equal(csv("plain"), "plain\r\n");
	assert_string_equal(csv("=HYPERLINK(\"x\")"),
	    "\"'=HYPERLINK(\"\"x\"\")\"\r\n");
	assert_string_equal(csv("+1"), "\"'+1\"\r\n");
	assert_string_equal(csv("-1"), "\"'-1\"\r\n");
	assert_string_equal(csv("@SUM(A1)"), "\"'@SUM(A1)\"\r\n");
	assert_string_equal(csv("\tx"), "\"'\\x09x\"\r\n");
	assert_string_equal(csv("\rx"), "\"'\\x0dx\"\r\n");
	assert_string_equal(csv("a,b"), "\"a,b\"\r\n");
	assert_string_equal(csv("a\nb"), "a\\x0ab\r\n");
	assert_string_equal(csv("\xc2\x9b" "x"), "\\x9bx\r\n");
	assert_string_equal(csv(NULL), "\r\n");
}

static void
test_json_url(void **state)
{
	(void)state;
	assert_string_equal(text("a\"b\\c\n</script>", chtml_json),
	    "\"a\\\"b\\\\c\\u000a\\u003c/script>\"");
	assert_string_equal(text(NULL, chtml_json), "null");
	assert_string_equal(text("YP 001&x=<y>", chtml_url),
	    "YP%20001%26x%3D%3Cy%3E");
}

static void
test_times(void **state)
{
	int64_t	ms;
	char	err[256], out[64];

	(void)state;
	/* 2026-07-01 12:00 BST is 11:00 UTC. */
	assert_int_equal(console_parse_local("2026-07-01 12:00", &ms, err,
	    sizeof(err)), 0);
	assert_int_equal(ms, INT64_C(1782903600000));
	assert_int_equal(console_parse_local("2026-07-01T12:00", &ms, err,
	    sizeof(err)), 0);
	assert_int_equal(ms, INT64_C(1782903600000));
	console_format_local(ms, out, sizeof(out));
	assert_string_equal(out, "2026-07-01 12:00:00 BST");
	/* Winter: GMT. */
	assert_int_equal(console_parse_local("2026-12-07", &ms, err,
	    sizeof(err)), 0);
	assert_int_equal(ms, INT64_C(1796601600000));
	console_format_local(ms, out, sizeof(out));
	assert_string_equal(out, "2026-12-07 00:00:00 GMT");
	/* The spring gap moves forward: 01:30 is 02:30 BST. */
	assert_int_equal(console_parse_local("2026-03-29 01:30", &ms, err,
	    sizeof(err)), 0);
	console_format_local(ms, out, sizeof(out));
	assert_string_equal(out, "2026-03-29 02:30:00 BST");

	assert_int_equal(console_parse_local("07/12/2026", &ms, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "YYYY-MM-DD"));
	assert_int_equal(console_parse_local("2026-02-30", &ms, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not exist") != NULL ? err :
	    strstr(err, "not a day"));
	assert_int_equal(console_parse_local("2026-12-07 25:00", &ms, err,
	    sizeof(err)), -1);
	assert_int_equal(console_parse_local("", &ms, err, sizeof(err)), -1);
	assert_int_equal(console_parse_local("2026-12-07 10:00<b>", &ms, err,
	    sizeof(err)), -1);
}

static void
test_growth(void **state)
{
	struct chtml	b;
	int		i;

	(void)state;
	chtml_init(&b);
	for (i = 0; i < 10000; i++)
		chtml_rawf(&b, "%d,", i);
	assert_true(chtml_ok(&b));
	assert_int_equal(strlen(b.p), b.len);
	assert_memory_equal(b.p, "0,1,2,", 6);
	chtml_free(&b);
}

static void
test_labels(void **state)
{
	static const char good[] =
	    "# labels\n"
	    "\n"
	    "kind.risk_alert = risk alert\n"
	    "  role.police_liaison   =   police liaison officer  \n"
	    "agency.police = the police\r\n"
	    "reason.no_rule = no rule of the agreement allows it\n"
	    "kind.sharing_decision = decision not to share # kept\n";
	struct console_labels	*l;
	char			 err[256];

	(void)state;
	l = console_labels_parse(good, sizeof(good) - 1, "labels.conf", err,
	    sizeof(err));
	assert_non_null(l);
	assert_int_equal(console_labels_count(l), 5);
	assert_string_equal(console_label(l, "kind", "risk_alert"),
	    "risk alert");
	assert_string_equal(console_label(l, "role", "police_liaison"),
	    "police liaison officer");
	assert_string_equal(console_label(l, "agency", "police"),
	    "the police");
	assert_string_equal(console_label(l, "kind", "sharing_decision"),
	    "decision not to share # kept");
	/* No label: the name itself. */
	assert_string_equal(console_label(l, "kind", "camhs_update"),
	    "camhs_update");
	assert_string_equal(console_label(l, "role", "risk_alert"),
	    "risk_alert");
	assert_string_equal(console_label(NULL, "kind", "risk_alert"),
	    "risk_alert");
	assert_string_equal(console_label(l, "kind", NULL), "");
	console_labels_free(l);
	console_labels_free(NULL);

	l = console_labels_parse("kind.a = x\nno equals sign\n", 26, "f",
	    err, sizeof(err));
	assert_null(l);
	assert_string_equal(err, "f:2: expected \"key = words\"");
	l = console_labels_parse("Kind.a = x\n", 11, "f", err, sizeof(err));
	assert_null(l);
	assert_non_null(strstr(err, "f:1: \"Kind.a\" is not a key"));
	l = console_labels_parse("kind.a = x\nkind.a = y\n", 22, "f", err,
	    sizeof(err));
	assert_null(l);
	assert_string_equal(err, "f:2: kind.a is given twice");
	l = console_labels_parse("kind.a =\n", 9, "f", err, sizeof(err));
	assert_null(l);
	l = console_labels_parse("kind.a = \x01x\n", 12, "f", err,
	    sizeof(err));
	assert_null(l);
	l = console_labels_parse("kind.a = \xff\n", 11, "f", err, sizeof(err));
	assert_null(l);
	assert_string_equal(err, "f:1: not UTF-8 text");
}

static void
test_charts(void **state)
{
	struct console_bar	 v[] = {
		{ "risk <alert>", 10 }, { "camhs_update", 5 }, { "none", 0 },
	};
	struct console_bar	 many[CONSOLE_CHART_MAX + 5];
	struct chtml		 b;
	char			 w[16];
	size_t			 i;

	(void)state;
	chtml_init(&b);
	console_chart_bars(&b, "kinds", "Messages per kind", v, 3);
	assert_true(chtml_ok(&b));
	assert_non_null(strstr(b.p, "<svg id=\"kinds\""));
	assert_non_null(strstr(b.p, "<title>Messages per kind</title>"));
	assert_non_null(strstr(b.p, "risk &lt;alert&gt;"));
	assert_null(strstr(b.p, "<alert>"));
	assert_null(strstr(b.p, "<script"));
	assert_null(strstr(b.p, "style="));
	/* To scale: the largest full width, half of it half, none none. */
	assert_non_null(strstr(b.p, "width=\"320\" height=\"14\""));
	assert_non_null(strstr(b.p, "width=\"160\" height=\"14\""));
	assert_non_null(strstr(b.p, "width=\"0\" height=\"14\""));
	assert_non_null(strstr(b.p, ">10</text>"));
	chtml_free(&b);

	for (i = 0; i < CONSOLE_CHART_MAX + 5; i++) {
		many[i].label = "k";
		many[i].count = 1;
	}
	chtml_init(&b);
	console_chart_bars(&b, "k", "t", many, CONSOLE_CHART_MAX + 5);
	assert_non_null(strstr(b.p, ">others</text>"));
	assert_non_null(strstr(b.p, ">5</text>"));
	chtml_free(&b);

	chtml_init(&b);
	console_chart_columns(&b, "weeks", "Rows per week", v, 2);
	assert_true(chtml_ok(&b));
	assert_non_null(strstr(b.p, "<svg id=\"weeks\""));
	assert_non_null(strstr(b.p, "<title>risk &lt;alert&gt;: 10</title>"));
	assert_non_null(strstr(b.p, "height=\"120\""));
	assert_non_null(strstr(b.p, "height=\"60\""));
	assert_null(strstr(b.p, "style="));
	chtml_free(&b);

	/* Monday 2026-12-07 00:00 GMT is 1796601600000. */
	console_week_of(1796601600000LL, w, sizeof(w));
	assert_string_equal(w, "2026-12-07");
	console_week_of(1796601600000LL - 1, w, sizeof(w));
	assert_string_equal(w, "2026-11-30");
	console_week_of(1796601600000LL + 6 * 86400000LL + 86399999, w,
	    sizeof(w));
	assert_string_equal(w, "2026-12-07");
	/* Monday 2026-06-01 00:30 BST is Sunday 23:30 UTC. */
	console_week_of(1780270200000LL, w, sizeof(w));
	assert_string_equal(w, "2026-06-01");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json_url),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_charts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
