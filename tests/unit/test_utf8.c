/*
 * Unit tests for proto/utf8.c: the strict validator at every edge of
 * Unicode's table of well-formed byte sequences, the cut on a character
 * boundary, the clean copy for logs and audit rows, and the walk over the
 * string fields of an unpacked message.  Linked with the proto library and
 * cmocka only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nwd.pb-c.h"
#include "utf8.h"

/* Bytes as a C string literal may not hold them: (pointer, length). */
#define B(s)	(s), (sizeof(s) - 1)

static void
valid(const char *s, size_t len, const char *what)
{
	size_t bad = 12345;

	if (!utf8_valid(s, len, &bad))
		fail_msg("%s: refused at byte %zu", what, bad);
	assert_int_equal(bad, 12345);
}

static void
invalid(const char *s, size_t len, size_t at, const char *what)
{
	size_t bad = 12345;

	if (utf8_valid(s, len, &bad))
		fail_msg("%s: accepted", what);
	if (bad != at)
		fail_msg("%s: refused at byte %zu, not %zu", what, bad, at);
	/* Without a place for the offset too. */
	assert_int_equal(utf8_valid(s, len, NULL), 0);
}

static void
test_valid_edges(void **state)
{
	valid(B(""), "empty");
	valid(B("plain ASCII, ~ and DEL \x7f"), "ASCII");
	valid("a\0b", 3, "U+0000 inside the length");
	valid(B("\xc2\x80"), "U+0080, the first of two bytes");
	valid(B("\xdf\xbf"), "U+07FF, the last of two bytes");
	valid(B("\xe0\xa0\x80"), "U+0800, the first of three bytes");
	valid(B("\xed\x9f\xbf"), "U+D7FF, the last before the surrogates");
	valid(B("\xee\x80\x80"), "U+E000, the first after them");
	valid(B("\xef\xbf\xbd"), "U+FFFD");
	valid(B("\xef\xbf\xbf"), "U+FFFF, the last of three bytes");
	valid(B("\xf0\x90\x80\x80"), "U+10000, the first of four bytes");
	valid(B("\xf4\x8f\xbf\xbf"), "U+10FFFF, the last code point");
	valid(B("Zo\xc3\xab, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x91\xb6"),
	    "text");
	assert_int_equal(utf8_valid_str("R\xc3\xa9n\xc3\xa9" "e", NULL), 1);
}

static void
test_invalid_edges(void **state)
{
	invalid(B("\x80"), 0, "a lone continuation byte");
	invalid(B("ab\xbf"), 2, "a continuation byte after ASCII");
	invalid(B("\xc0\x80"), 0, "overlong U+0000");
	invalid(B("\xc0\xaf"), 0, "overlong '/' in two bytes");
	invalid(B("\xc1\xbf"), 0, "overlong U+007F");
	invalid(B("\xe0\x80\xaf"), 0, "overlong '/' in three bytes");
	invalid(B("\xe0\x9f\xbf"), 0, "overlong U+07FF");
	invalid(B("\xf0\x80\x80\xaf"), 0, "overlong '/' in four bytes");
	invalid(B("\xf0\x8f\xbf\xbf"), 0, "overlong U+FFFF");
	invalid(B("x\xed\xa0\x80"), 1, "U+D800, a high surrogate");
	invalid(B("x\xed\xbf\xbf"), 1, "U+DFFF, a low surrogate");
	invalid(B("\xed\xa0\xbd\xed\xb2\xa9"), 0, "a surrogate pair (CESU-8)");
	invalid(B("\xf4\x90\x80\x80"), 0, "U+110000");
	invalid(B("\xf5\x80\x80\x80"), 0, "F5");
	invalid(B("\xf8\x88\x80\x80\x80"), 0, "five bytes");
	invalid(B("\xfe"), 0, "FE");
	invalid(B("YP-\xff"), 3, "FF");
	invalid(B("ok\xe2\x82"), 2, "a sequence cut at the end");
	invalid(B("ok\xe2\x82" "A"), 2, "a sequence cut before ASCII");
	invalid(B("\xc3\xa9\xc3"), 2, "the last character cut");
	invalid(B("\xf0\x90\x80"), 0, "four bytes, three of them");
	/* The length bounds the check: a cut read is refused. */
	invalid("\xc3\xa9", 1, 0, "a length inside a character");
	assert_int_equal(utf8_valid_str("YP-\xff", NULL), 0);
	/* utf8_valid_str stops at the NUL. */
	assert_int_equal(utf8_valid_str("ok\0\xff", NULL), 1);
}

static void
test_controls(void **state)
{
	assert_int_equal(utf8_has_control(""), 0);
	assert_int_equal(utf8_has_control("YP-001 Zo\xc3\xab"), 0);
	assert_int_equal(utf8_has_control("a\tb"), 1);
	assert_int_equal(utf8_has_control("a\x1b[31m"), 1);
	assert_int_equal(utf8_has_control("a\x7f"), 1);
	assert_int_equal(utf8_has_control("a\xc2\x80"), 1);	/* U+0080 */
	assert_int_equal(utf8_has_control("a\xc2\x85"), 1);	/* NEL */
	assert_int_equal(utf8_has_control("a\xc2\x9f"), 1);	/* U+009F */
	assert_int_equal(utf8_has_control("a\xc2\xa0"), 0);	/* NBSP */
	/* An ill-formed sequence is no control character. */
	assert_int_equal(utf8_has_control("a\xc2"), 0);
}

static void
test_cut(void **state)
{
	const char e3[] = "\xc3\xa9\xc3\xa9\xc3\xa9";	/* "ééé" */
	const char euro[] = "ab\xe2\x82\xac";		/* "ab€" */
	const char baby[] = "a\xf0\x9f\x91\xb6";	/* "a" and U+1F476 */

	/* Short enough: whole. */
	assert_int_equal(utf8_cut(B("abc"), 3), 3);
	assert_int_equal(utf8_cut(B("abc"), 10), 3);
	assert_int_equal(utf8_cut(B("abcdef"), 4), 4);
	/* On a boundary, or back to the last one. */
	assert_int_equal(utf8_cut(B(e3), 4), 4);
	assert_int_equal(utf8_cut(B(e3), 5), 4);
	assert_int_equal(utf8_cut(B(e3), 1), 0);
	assert_int_equal(utf8_cut(B(e3), 0), 0);
	assert_int_equal(utf8_cut(B(euro), 2), 2);
	assert_int_equal(utf8_cut(B(euro), 3), 2);
	assert_int_equal(utf8_cut(B(euro), 4), 2);
	assert_int_equal(utf8_cut(B(baby), 4), 1);
	assert_int_equal(utf8_cut(B(baby), 2), 1);
	/* What is left is valid. */
	assert_int_equal(utf8_valid(e3, utf8_cut(B(e3), 3), NULL), 1);
	/* Bytes that are not UTF-8: at most max all the same. */
	assert_int_equal(utf8_cut(B("\x80\x80\x80\x80\x80\x80"), 5), 5);
	assert_int_equal(utf8_cut(B("\xff\xff\xff"), 2), 2);
}

static void
clean(const char *s, size_t len, size_t outlen, int flags, const char *want)
{
	char	out[256];
	size_t	n;

	memset(out, 'X', sizeof(out));
	n = utf8_clean(out, outlen, s, len, flags);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(utf8_valid(out, n, NULL), 1);
	assert_true(n < outlen);
}

static void
test_clean(void **state)
{
	/* Valid text is copied as it is. */
	clean(B("Zo\xc3\xab"), 64, UTF8_KEEP_CONTROLS, "Zo\xc3\xab");
	clean(B(""), 1, UTF8_KEEP_CONTROLS, "");
	/* Each maximal subpart of an ill-formed sequence: one U+FFFD. */
	clean(B("YP-\xff"), 64, 0, "YP-\xef\xbf\xbd");
	clean(B("a\xf0\x90\x80" "b"), 64, 0, "a\xef\xbf\xbd" "b");
	clean(B("a\xe2\x82"), 64, 0, "a\xef\xbf\xbd");
	clean(B("\xc0\xaf"), 64, 0, "\xef\xbf\xbd\xef\xbf\xbd");
	clean(B("\xed\xa0\x80"), 64, 0,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	clean(B("\xf4\x90\x80\x80"), 64, 0,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* Control characters kept, or made '?', NUL included. */
	clean(B("\x1b[31mred\xc2\x85"), 64, UTF8_KEEP_CONTROLS,
	    "\x1b[31mred\xc2\x85");
	clean(B("\x1b[31mred\xc2\x85"), 64, UTF8_NO_CONTROLS, "?[31mred?");
	clean("a\0b", 3, 64, UTF8_NO_CONTROLS, "a?b");
	clean(B("tab\there\n"), 64, UTF8_NO_CONTROLS, "tab?here?");
	/* Never cut inside a character, whatever the room. */
	clean(B("\xc3\xa9\xc3\xa9\xc3\xa9"), 6, 0, "\xc3\xa9\xc3\xa9");
	clean(B("\xc3\xa9\xc3\xa9\xc3\xa9"), 5, 0, "\xc3\xa9\xc3\xa9");
	clean(B("\xc3\xa9\xc3\xa9\xc3\xa9"), 4, 0, "\xc3\xa9");
	clean(B("\xc3\xa9"), 2, 0, "");
	clean(B("ab\xff"), 5, 0, "ab");		/* U+FFFD does not fit */
	clean(B("ab\xff"), 6, 0, "ab\xef\xbf\xbd");
	clean(B("abc"), 1, 0, "");
}

/* ------------------------------------------------------------------------
 * The walk over a message's strings
 */

struct env {
	Nwd__V1__Envelope	 e;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 s;
	Nwd__V1__RiskAlert	 r;
	Nwd__V1__Address	 a;
	Nwd__V1__ThirdParty	 tp[2];
	Nwd__V1__ThirdParty	*tps[2];
	char			*share[3];
};

static void
env_init(struct env *v)
{
	memset(v, 0, sizeof(*v));
	nwd__v1__envelope__init(&v->e);
	nwd__v1__header__init(&v->h);
	nwd__v1__subject_ref__init(&v->s);
	nwd__v1__risk_alert__init(&v->r);
	nwd__v1__address__init(&v->a);
	nwd__v1__third_party__init(&v->tp[0]);
	nwd__v1__third_party__init(&v->tp[1]);
	v->s.local_id = "YP-001";
	v->h.kind = NWD__V1__KIND__RISK_ALERT;
	v->h.subject = &v->s;
	v->share[0] = "sw:north";
	v->share[1] = "hub:norwich";
	v->share[2] = "plo-ana";
	v->h.share_with = v->share;
	v->h.n_share_with = 3;
	v->r.summary = "caf\xc3\xa9";
	v->a.line1 = "1 Rue de l'\xc3\x89glise";
	v->r.location = &v->a;
	v->tp[0].name = "Zo\xc3\xab";
	v->tp[1].name = "Ren\xc3\xa9" "e";
	v->tp[1].address = &v->a;
	v->tps[0] = &v->tp[0];
	v->tps[1] = &v->tp[1];
	v->r.associates = v->tps;
	v->r.n_associates = 2;
	v->e.header = &v->h;
	v->e.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	v->e.risk_alert = &v->r;
}

static void
expect_path(const ProtobufCMessage *m, const ProtobufCMessageDescriptor *skip,
    const char *prefix, const char *want, size_t want_bad)
{
	char	path[128];
	size_t	bad = 999;

	snprintf(path, sizeof(path), "%s", prefix);
	if (want == NULL) {
		if (utf8_find_invalid(m, skip, path, sizeof(path), &bad))
			fail_msg("found %s (byte %zu)", path, bad);
		assert_string_equal(path, prefix);
		return;
	}
	if (!utf8_find_invalid(m, skip, path, sizeof(path), &bad))
		fail_msg("nothing found; want %s", want);
	assert_string_equal(path, want);
	assert_int_equal(bad, want_bad);
}

static void
test_find_invalid(void **state)
{
	struct env v;

	env_init(&v);
	expect_path(&v.e.base, NULL, "", NULL, 0);
	/* A string of a nested message. */
	v.s.local_id = "YP-\xff";
	expect_path(&v.e.base, NULL, "", "header.subject.local_id", 3);
	expect_path(&v.h.base, NULL, "header", "header.subject.local_id", 3);
	/* A repeated string. */
	env_init(&v);
	v.share[2] = "plo-\xe2\x82";
	expect_path(&v.e.base, NULL, "", "header.share_with[2]", 4);
	/* A string of the oneof's member, and deeper. */
	env_init(&v);
	v.r.summary = "\xc0\xaf";
	expect_path(&v.e.base, NULL, "", "risk_alert.summary", 0);
	expect_path(&v.r.base, NULL, "", "summary", 0);
	env_init(&v);
	v.tp[1].name = "Ren\xed\xa0\x80";
	expect_path(&v.r.base, NULL, "", "associates[1].name", 3);
	/* The message shared by location and associates[1].address: the
	 * first in field order is named. */
	env_init(&v);
	v.a.town = "Norwich\xf4\x90\x80\x80";
	expect_path(&v.r.base, NULL, "", "associates[1].address.town", 7);
	v.tp[1].address = NULL;
	expect_path(&v.r.base, NULL, "", "location.town", 7);
	/* NULL strings and messages are nothing to judge. */
	env_init(&v);
	v.r.details = NULL;
	v.tp[0].name = NULL;
	v.r.location = NULL;
	expect_path(&v.e.base, NULL, "", NULL, 0);
	/* A member of the oneof that is not the one set is not looked at. */
	env_init(&v);
	v.e.body_case = NWD__V1__ENVELOPE__BODY__NOT_SET;
	v.r.summary = "\xff";
	expect_path(&v.e.base, NULL, "", NULL, 0);
	/* A descriptor to skip is not entered. */
	env_init(&v);
	v.r.summary = "\xff";
	expect_path(&v.e.base, &nwd__v1__risk_alert__descriptor, "", NULL, 0);
}

static void
test_find_invalid_in_a_frame(void **state)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__Subscribe	s = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__Publish	p = NWD__V1__PUBLISH__INIT;
	struct env		v;
	char			*subjects[2] = { "YP-001", "YP-\xc3" };
	char			 path[8];

	s.subjects = subjects;
	s.n_subjects = 2;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;
	expect_path(&f.base, &nwd__v1__envelope__descriptor, "",
	    "subscribe.subjects[1]", 3);
	/* A Publish's envelope, skipped: envelope_validate() judges it. */
	env_init(&v);
	v.s.local_id = "YP-\xff";
	p.envelope = &v.e;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	expect_path(&f.base, &nwd__v1__envelope__descriptor, "", NULL, 0);
	expect_path(&f.base, NULL, "", "publish.envelope.header.subject.local_id",
	    3);
	/* A path longer than its buffer is cut, never overrun. */
	memset(path, 'X', sizeof(path));
	path[0] = '\0';
	assert_int_equal(utf8_find_invalid(&f.base, NULL, path, 6, NULL), 1);
	assert_string_equal(path, "publi");
	assert_int_equal(path[6], 'X');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_edges),
		cmocka_unit_test(test_invalid_edges),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_find_invalid),
		cmocka_unit_test(test_find_invalid_in_a_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
