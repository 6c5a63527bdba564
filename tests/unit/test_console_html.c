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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json_url),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
