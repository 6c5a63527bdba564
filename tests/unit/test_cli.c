/*
 * Unit tests for client/cli.c: what the nwd tool writes for a terminal and
 * for a spreadsheet from text that came from others (issue 16).
 *
 * - cli_clean(): control characters (C0, DEL, C1) and bytes that are not
 *   UTF-8 become '?'; other characters pass whole; a character is never
 *   cut in half at the buffer's end.
 * - cli_csv_field(): RFC 4180 quoting; a cell that starts with = + - @,
 *   a tab or a CR gets a leading '; control characters become \xHH.
 * - cli_sharing_decision_words(): a decision not to share in plain words
 *   (issue 18, S23), cut short in a small buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void
test_clean(void **state)
{
	char	buf[64];

	(void)state;
	assert_string_equal(cli_clean("YP-001", buf, sizeof(buf)), "YP-001");
	assert_string_equal(cli_clean("\x1b[2Jgone", buf, sizeof(buf)),
	    "?[2Jgone");
	assert_string_equal(cli_clean("a\tb\r\nc\x7f", buf, sizeof(buf)),
	    "a?b??c?");
	/* U+009B, the one-byte CSI. */
	assert_string_equal(cli_clean("x\xc2\x9b" "2J", buf, sizeof(buf)),
	    "x?2J");
	/* Not UTF-8: a lone continuation byte, a cut sequence, overlong. */
	assert_string_equal(cli_clean("a\x80z\xe2\x82" "b\xc0\xaf", buf,
	    sizeof(buf)), "a?z??b??");
	/* Characters pass whole; none is cut in half. */
	assert_string_equal(cli_clean("Zo\xc3\xab \xe2\x82\xac", buf,
	    sizeof(buf)), "Zo\xc3\xab \xe2\x82\xac");
	assert_string_equal(cli_clean("ab\xc3\xab", buf, 4), "ab");
	assert_string_equal(cli_clean(NULL, buf, sizeof(buf)), "");
}

/* What cli_csv_field() writes for s. */
static const char *
csv(const char *s, int last)
{
	static char	 out[256];
	FILE		*fp;

	memset(out, 0, sizeof(out));
	assert_non_null(fp = fmemopen(out, sizeof(out) - 1, "w"));
	cli_csv_field(fp, s, last);
	assert_int_equal(fclose(fp), 0);
	return out;
}

static void
test_csv(void **state)
{
	(void)state;
	assert_string_equal(csv("YP-001", 0), "YP-001,");
	assert_string_equal(csv("YP-001", 1), "YP-001\r\n");
	assert_string_equal(csv(NULL, 0), ",");
	assert_string_equal(csv("a,b", 0), "\"a,b\",");
	assert_string_equal(csv("say \"hi\"", 0), "\"say \"\"hi\"\"\",");
	/* Formulas are text. */
	assert_string_equal(csv("=HYPERLINK(\"http://x\",\"y\")", 0),
	    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",");
	assert_string_equal(csv("+1+1", 0), "\"'+1+1\",");
	assert_string_equal(csv("-2+3", 0), "\"'-2+3\",");
	assert_string_equal(csv("@SUM(A1)", 0), "\"'@SUM(A1)\",");
	assert_string_equal(csv("\t=1", 0), "\"'\\x09=1\",");
	assert_string_equal(csv("\r=1", 0), "\"'\\x0d=1\",");
	/* Control characters are written out, never raw. */
	assert_string_equal(csv("a\x1b[2Jb", 0), "a\\x1b[2Jb,");
	assert_string_equal(csv("l1\nl2", 0), "l1\\x0al2,");
	assert_string_equal(csv("x\xc2\x9b" "2J", 0), "x\\x9b2J,");
	/* Other characters pass as they are. */
	assert_string_equal(csv("Zo\xc3\xab", 1), "Zo\xc3\xab\r\n");
}

static void
test_sharing_decision_words(void **state)
{
	Nwd__V1__SharingDecision		 d =
	    NWD__V1__SHARING_DECISION__INIT;
	Nwd__V1__SharingDecision__Reason	 reasons[3] = {
		NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL,
		NWD__V1__SHARING_DECISION__REASON__RISK_TO_OTHERS,
		NWD__V1__SHARING_DECISION__REASON__OTHER,
	};
	char	*names[3] = { "police", "police:plt", "plo-ana" };
	char	 buf[1024], small[16];

	(void)state;
	d.information = "CAMHS formulation";
	d.not_shared_with = names;
	d.n_not_shared_with = 1;
	d.reasons = reasons;
	d.n_reasons = 1;
	d.more_detrimental_to_child = 1;
	d.explanation = "would end the therapeutic relationship";
	assert_string_equal(cli_sharing_decision_words(&d, buf, sizeof(buf)),
	    "Decision not to share: CAMHS formulation; not shared with "
	    "police; because of the harm sharing would do the child; sharing "
	    "would be more detrimental to the child.  Explanation: would end "
	    "the therapeutic relationship");
	d.n_not_shared_with = 3;
	d.n_reasons = 3;
	d.decided_unix_ms = 1740823200000LL;
	d.review_by_unix_ms = 1743501600000LL;
	assert_string_equal(cli_sharing_decision_words(&d, buf, sizeof(buf)),
	    "Decision not to share: CAMHS formulation; not shared with "
	    "police, police:plt and plo-ana; because of the harm sharing "
	    "would do the child, it would put someone else at risk and of "
	    "another reason (see the explanation); sharing would be more "
	    "detrimental to the child; decided 2025-03-01T10:00:00Z; to be "
	    "reviewed by 2025-04-01T10:00:00Z.  Explanation: would end the "
	    "therapeutic relationship");
	assert_string_equal(cli_sharing_decision_words(&d, small,
	    sizeof(small)), "Decision not to");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_sharing_decision_words),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
