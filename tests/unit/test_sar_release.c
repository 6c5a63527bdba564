/*
 * Unit tests for client/sar_release.c: the words of the subject-access
 * report a young person can be given (nwd sar --release, issue 19).
 *
 * - sar_release_time(): UK local time, GMT in winter and BST in summer,
 *   changing at 01:00 UTC on the last Sundays of March and October.
 * - sar_release_label(): the labels file's words, or the name made
 *   readable; a bad labels file is refused with its line.
 * - sar_release_withheld(): the protected types and fields are withheld
 *   whatever the labels file says; it only rewords the reason.
 * - sar_release_body(): a body walked field by field, where no protected
 *   value reaches the output, each withheld one has its reason, enum
 *   values and times are in words.
 * - sar_release_html_escape(): markup is text.
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

#include "nwd.pb-c.h"
#include "sar_release.h"

static void
test_time(void **state)
{
	char buf[80];

	(void)state;
	/* 2027-01-05T14:30:00Z: winter, GMT. */
	assert_string_equal(sar_release_time(1799159400000LL, buf,
	    sizeof(buf)), "Tuesday 5 January 2027, 14:30");
	/* 2026-07-01T12:00:00Z: summer, BST (13:00). */
	assert_string_equal(sar_release_time(1782907200000LL, buf,
	    sizeof(buf)), "Wednesday 1 July 2026, 13:00");
	/* 2026-03-29: BST starts at 01:00 UTC. */
	assert_string_equal(sar_release_time(1774745940000LL, buf,
	    sizeof(buf)), "Sunday 29 March 2026, 00:59");
	assert_string_equal(sar_release_time(1774746000000LL, buf,
	    sizeof(buf)), "Sunday 29 March 2026, 02:00");
	/* 2026-10-25: BST ends at 01:00 UTC (02:00 BST back to 01:00). */
	assert_string_equal(sar_release_time(1792889940000LL, buf,
	    sizeof(buf)), "Sunday 25 October 2026, 01:59");
	assert_string_equal(sar_release_time(1792890000000LL, buf,
	    sizeof(buf)), "Sunday 25 October 2026, 01:00");
	/* Before midnight UTC, after it in BST: the date moves too. */
	assert_string_equal(sar_release_time(1782946800000LL, buf,
	    sizeof(buf)), "Thursday 2 July 2026, 00:00");
	assert_string_equal(sar_release_date(1799159400000LL, buf,
	    sizeof(buf)), "Tuesday 5 January 2027");
	assert_string_equal(sar_release_time(0, buf, sizeof(buf)),
	    "Thursday 1 January 1970, 00:00");
	/* 2024-02-29, a leap day. */
	assert_string_equal(sar_release_time(1709164800000LL, buf,
	    sizeof(buf)), "Thursday 29 February 2024, 00:00");
}

static char *
write_file(const char *text)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof(path), "/tmp/test_sar_release.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_labels(void **state)
{
	struct sar_labels	*l;
	char			 buf[128], err[256], *path;

	(void)state;
	path = write_file("# comment\n\nkind risk_alert = A worry about "
	    "your safety  # trailing\nagency police = Norfolk Police\n"
	    "withheld ThirdParty = someone else\n");
	l = sar_release_labels_load(path, err, sizeof(err));
	unlink(path);
	assert_non_null(l);
	assert_string_equal(sar_release_label(l, "kind", "risk_alert", buf,
	    sizeof(buf)), "A worry about your safety");
	assert_string_equal(sar_release_label(l, "agency", "police", buf,
	    sizeof(buf)), "Norfolk Police");
	/* No label: readable. */
	assert_string_equal(sar_release_label(l, "kind", "camhs_update", buf,
	    sizeof(buf)), "camhs update");
	assert_string_equal(sar_release_label(l, "role", "police-liaison",
	    buf, sizeof(buf)), "police liaison");
	assert_string_equal(sar_release_label(l, "field", "occurred_unix_ms",
	    buf, sizeof(buf)), "Occurred");
	assert_string_equal(sar_release_label(NULL, "value",
	    "CRIMINAL_EXPLOITATION", buf, sizeof(buf)),
	    "criminal exploitation");
	/* Reworded, but still withheld. */
	assert_string_equal(sar_release_withheld(l, "ThirdParty", NULL),
	    "someone else");
	sar_release_labels_free(l);

	/* Refused, with the line. */
	path = write_file("kind risk_alert = ok\ncolour red = no\n");
	assert_null(sar_release_labels_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: unknown category \"colour\""));
	unlink(path);
	path = write_file("kind risk_alert\n");
	assert_null(sar_release_labels_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":1: expected \"CATEGORY NAME = WORDS\""));
	unlink(path);
	path = write_file("kind risk_alert =   \n");
	assert_null(sar_release_labels_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":1: no words for kind risk_alert"));
	unlink(path);
	assert_null(sar_release_labels_load("/nonexistent/labels.conf", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/labels.conf: "));
	sar_release_labels_free(NULL);
}

static void
test_withheld_always(void **state)
{
	struct sar_labels	*l;
	char			 err[64], buf[128];

	(void)state;
	/* No labels file at all: still withheld, with a reason. */
	assert_non_null(l = sar_release_labels_load(NULL, err, sizeof(err)));
	assert_string_equal(sar_release_withheld(l, "ThirdParty", "victim"),
	    "information about another person");
	assert_string_equal(sar_release_withheld(l, "SourceDetails", NULL),
	    "police intelligence source");
	assert_non_null(sar_release_withheld(l, "Address", "location"));
	assert_string_equal(sar_release_withheld(l, NULL,
	    "handling_conditions"), "a condition the police set on sharing");
	assert_non_null(sar_release_withheld(l, NULL, "justification"));
	assert_null(sar_release_withheld(l, "Grading", "grading"));
	assert_null(sar_release_withheld(l, NULL, "summary"));
	assert_string_equal(sar_release_marker("x", buf, sizeof(buf)),
	    "[withheld: x]");
	sar_release_labels_free(l);
}

/* What sar_release_body() emitted, one line an item. */
struct out {
	char	text[8192];
};

static void
collect(const struct sar_release_item *it, void *arg)
{
	struct out	*o = arg;
	size_t		 n = strlen(o->text);

	snprintf(o->text + n, sizeof(o->text) - n, "%d|%s|%s|%s\n",
	    it->depth, it->label, it->value != NULL ? it->value : "-",
	    it->withheld != NULL ? it->withheld : "-");
}

static void
test_body(void **state)
{
	Nwd__V1__IntelligenceReport	r = NWD__V1__INTELLIGENCE_REPORT__INIT;
	Nwd__V1__Grading		g = NWD__V1__GRADING__INIT;
	Nwd__V1__SourceDetails		sd = NWD__V1__SOURCE_DETAILS__INIT;
	Nwd__V1__ThirdParty		tp = NWD__V1__THIRD_PARTY__INIT;
	Nwd__V1__ThirdParty		src = NWD__V1__THIRD_PARTY__INIT;
	Nwd__V1__ThirdParty		*tps[1] = { &tp };
	Nwd__V1__Address		addr = NWD__V1__ADDRESS__INIT;
	struct out			o;

	(void)state;
	addr.line1 = "21 Associate Road";
	addr.postcode = "NR1 1AA";
	tp.name = "Kyle Olderman";
	tp.phone = "07700 900123";
	tp.address = &addr;
	src.name = "Dana Informant";
	sd.reference = "SRC-REF-5521";
	sd.source = &src;
	g.source_evaluation = 2;
	g.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	g.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	g.handling_conditions = "not to be disclosed to family";
	r.grading = &g;
	r.sanitised = 1;
	r.summary = "<script>alert(1)</script>";
	r.source_details = &sd;
	r.third_parties = tps;
	r.n_third_parties = 1;
	r.location = &addr;
	r.occurred_unix_ms = 1799159400000LL;
	/* The shipped labels: other words, the same withholding. */
	{
		struct sar_labels	*l;
		char			 err[256];

		l = sar_release_labels_load(NWD_TEST_DATA
		    "/../../deploy/sar-labels.conf", err, sizeof(err));
		if (l == NULL)
			fail_msg("deploy/sar-labels.conf: %s", err);
		memset(&o, 0, sizeof(o));
		sar_release_body(&r.base, l, collect, &o);
		sar_release_labels_free(l);
		assert_string_equal(o.text,
		    "0|How reliable the police think it is|-|-\n"
		    "1|Source reliability (1 reliable, 3 not reliable)|2|-\n"
		    "1|How the source knows|b|-\n"
		    "1|Sharing code|may be shared only with conditions|-\n"
		    "1|Handling conditions|-|a condition the police set on "
		    "sharing\n"
		    "0|Sanitised|yes|-\n"
		    "0|Summary|<script>alert(1)</script>|-\n"
		    "0|Where the information came from|-|police intelligence "
		    "source\n"
		    "0|Other people|-|information about another person\n"
		    "0|Place|-|an address, to protect the people who live "
		    "there\n"
		    "0|When it happened|Tuesday 5 January 2027, 14:30|-\n");
	}
	memset(&o, 0, sizeof(o));
	sar_release_body(&r.base, NULL, collect, &o);
	assert_string_equal(o.text,
	    "0|Grading|-|-\n"
	    "1|Source evaluation|2|-\n"
	    "1|Assessment|b|-\n"
	    "1|Handling code|handling c|-\n"
	    "1|Handling conditions|-|a condition the police set on sharing\n"
	    "0|Sanitised|yes|-\n"
	    "0|Summary|<script>alert(1)</script>|-\n"
	    "0|Source details|-|police intelligence source\n"
	    "0|Third parties|-|information about another person\n"
	    "0|Location|-|an address, to protect the people who live there\n"
	    "0|Occurred|Tuesday 5 January 2027, 14:30|-\n");
	assert_null(strstr(o.text, "Kyle"));
	assert_null(strstr(o.text, "07700"));
	assert_null(strstr(o.text, "Informant"));
	assert_null(strstr(o.text, "SRC-REF"));
	assert_null(strstr(o.text, "Associate Road"));
	assert_null(strstr(o.text, "disclosed to family"));
}

/* Principal ids in a body are not printed; kinds are in words. */
static void
test_body_names(void **state)
{
	Nwd__V1__StrategyDiscussionRequest	sd =
	    NWD__V1__STRATEGY_DISCUSSION_REQUEST__INIT;
	Nwd__V1__ConsentRecord			cr =
	    NWD__V1__CONSENT_RECORD__INIT;
	Nwd__V1__Kind				kinds[1] = {
	    NWD__V1__KIND__CAMHS_UPDATE };
	char					*inv[2] = { "sw-ben",
	    "hub:norwich" };
	struct out				o;

	(void)state;
	sd.reason = "concerns";
	sd.invitees = inv;
	sd.n_invitees = 2;
	memset(&o, 0, sizeof(o));
	sar_release_body(&sd.base, NULL, collect, &o);
	assert_null(strstr(o.text, "sw-ben"));
	assert_non_null(strstr(o.text, "0|Invitees|a member of staff|-\n"));
	cr.status = NWD__V1__CONSENT_RECORD__STATUS__GIVEN;
	cr.kinds = kinds;
	cr.n_kinds = 1;
	memset(&o, 0, sizeof(o));
	sar_release_body(&cr.base, NULL, collect, &o);
	assert_non_null(strstr(o.text, "0|Kinds|camhs update|-\n"));
	assert_non_null(strstr(o.text, "0|Status|given|-\n"));
}

static void
test_html_escape(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(sar_release_html_escape("<b>x</b> & \"y\" 'z'",
	    buf, sizeof(buf)),
	    "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot; &#39;z&#39;");
	/* Cut short at a whole reference, never inside one. */
	assert_string_equal(sar_release_html_escape("ab<cd", buf, 6), "ab");
	/* ... nor inside a UTF-8 character. */
	assert_string_equal(sar_release_html_escape("a\xc3\xa9" "b", buf, 3),
	    "a");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_withheld_always),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_names),
		cmocka_unit_test(test_html_escape),
	};

	return cmocka_run_group_tests_name("sar_release", tests, NULL, NULL);
}
