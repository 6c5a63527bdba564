/*
 * Unit tests for daemon/identity.c: the administrator's mapping from a
 * certificate identity to a principal.  The shipped deploy/principals.conf
 * is parsed and checked against the cast of shared/SCENARIOS.md, and every
 * refusal must read "NAME:LINE:COL: cause".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "identity.h"
#include "nwd.pb-c.h"

#define PRINCIPALS_CONF	NWD_TEST_DATA "/../../deploy/principals.conf"
#define NAME		"p.conf"

#define OS	NWD__V1__MARKING__OFFICIAL_SENSITIVE
#define OF	NWD__V1__MARKING__OFFICIAL

/* The cast of shared/SCENARIOS.md; teams as the file writes them. */
static const struct cast {
	const char	*id;
	const char	*role;
	const char	*agency;
	const char	*teams[3];
	int		 clearance;
} cast[] = {
	{ "plo-ana", "police_liaison", "police",
	  { "police:plt", "hub:norwich" }, OS },
	{ "hubsys-norwich", "hub_system", "hub", { "hub:norwich" }, OS },
	{ "hubsys-dereham", "hub_system", "hub", { "hub:dereham" }, OS },
	{ "keyworker-kim", "hub_keyworker", "hub", { "hub:norwich" }, OF },
	{ "sw-ben", "social_worker", "social_care", { "sw:north" }, OS },
	{ "camhs-cara", "camhs_clinician", "camhs", { "camhs:central" }, OS },
	{ "case-system", "case_system", "social_care", { NULL }, OS },
	{ "duty-mash", "duty", "social_care", { "mash:duty" }, OS },
	{ "auditor-dan", "auditor", "governance", { NULL }, OS },
};
#define NCAST (sizeof(cast) / sizeof(cast[0]))

/* The same cast written inline, in the file format. */
static const char cast_text[] =
    "# identity      principal       role             agency       teams "
    "                 clearance\n"
    "plo-ana         plo-ana         police_liaison   police       "
    "police:plt,hub:norwich OFFICIAL-SENSITIVE\n"
    "hubsys-norwich  hubsys-norwich  hub_system       hub          "
    "hub:norwich   OFFICIAL_SENSITIVE\n"
    "hubsys-dereham  hubsys-dereham  hub_system       hub          "
    "hub:dereham   official_sensitive\n"
    "\n"
    "keyworker-kim   keyworker-kim   hub_keyworker    hub          "
    "hub:norwich   OFFICIAL\n"
    "sw-ben          sw-ben          social_worker    social_care  "
    "sw:north      OFFICIAL_SENSITIVE   # case holder\n"
    "camhs-cara\tcamhs-cara\tcamhs_clinician\tcamhs\tcamhs:central\t"
    "OFFICIAL_SENSITIVE\r\n"
    "case-system     case-system     case_system      social_care  "
    "-             OFFICIAL_SENSITIVE\n"
    "   duty-mash    duty-mash       duty             social_care  "
    "mash:duty     OFFICIAL_SENSITIVE\n"
    "auditor-dan     auditor-dan     auditor          governance   "
    "-             OFFICIAL_SENSITIVE";	/* no final newline */

static void
check_cast(const struct identity_map *m, const struct cast *c)
{
	const struct principal	*p;
	size_t			 nteams, i;

	p = identity_find_id(m, c->id);
	if (p == NULL)
		fail_msg("principal %s is not in the map", c->id);
	assert_string_equal(p->id, c->id);
	assert_string_equal(p->role, c->role);
	assert_string_equal(p->agency, c->agency);
	assert_int_equal(p->clearance, c->clearance);
	for (nteams = 0; nteams < 3 && c->teams[nteams] != NULL; nteams++)
		;
	if (p->nteams != nteams)
		fail_msg("%s has %zu teams, expected %zu", c->id, p->nteams,
		    nteams);
	for (i = 0; i < nteams; i++) {
		assert_string_equal(p->teams[i], c->teams[i]);
		assert_true(principal_in_team(p, c->teams[i]));
	}
}

static struct identity_map *
parse_ok(const char *text, size_t len)
{
	char			 err[512] = "";
	struct identity_map	*m;

	m = identity_parse(text, len, NAME, err, sizeof(err));
	if (m == NULL)
		fail_msg("expected the text to parse, got \"%s\"", err);
	return m;
}

/* Parses text, expecting a refusal that begins with want. */
static void
expect_error_len(const char *text, size_t len, const char *want)
{
	char			 err[512] = "";
	struct identity_map	*m;

	m = identity_parse(text, len, NAME, err, sizeof(err));
	if (m != NULL) {
		identity_free(m);
		fail_msg("expected \"%s...\", but the text was accepted", want);
	}
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", want, err);
}

static void
expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

/* ------------------------------------------------------------------------
 * The cast
 */

static void
test_inline_cast(void **state)
{
	struct identity_map	*m;
	size_t			 i;

	m = parse_ok(cast_text, strlen(cast_text));
	assert_int_equal(identity_count(m), NCAST);
	for (i = 0; i < NCAST; i++) {
		check_cast(m, &cast[i]);
		/* In file order, identity = principal id here. */
		assert_string_equal(identity_at(m, i)->id, cast[i].id);
		assert_string_equal(identity_at(m, i)->identity, cast[i].id);
	}
	assert_null(identity_at(m, NCAST));
	identity_free(m);
}

static void
test_deploy_file(void **state)
{
	char			 err[512] = "";
	struct identity_map	*m;
	const struct principal	*p;
	size_t			 i;

	m = identity_load(PRINCIPALS_CONF, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s", err);
	/* At least the cast and the two test identities (revoked, expired). */
	assert_true(identity_count(m) >= NCAST + 2);
	for (i = 0; i < NCAST; i++) {
		check_cast(m, &cast[i]);
		p = identity_lookup(m, cast[i].id);
		assert_non_null(p);
		assert_ptr_equal(p, identity_find_id(m, cast[i].id));
	}

	/* An identity that differs from its principal id. */
	p = identity_lookup(m, "revoked");
	assert_non_null(p);
	assert_string_equal(p->id, "revoked-rob");
	assert_string_equal(p->role, "hub_keyworker");
	assert_int_equal(p->clearance, OF);
	assert_ptr_equal(identity_find_id(m, "revoked-rob"), p);
	assert_null(identity_find_id(m, "revoked"));
	assert_null(identity_lookup(m, "revoked-rob"));
	assert_string_equal(identity_lookup(m, "expired")->id, "exp-eve");

	/* The unmapped certificates stay unmapped. */
	assert_null(identity_lookup(m, "stranger"));
	assert_null(identity_lookup(m, "foreign"));
	assert_null(identity_lookup(m, ""));
	assert_null(identity_lookup(m, "PLO-ANA"));
	assert_null(identity_lookup(m, "plo-ana "));
	assert_null(identity_find_id(m, "nobody"));
	identity_free(m);
}

static void
test_in_team(void **state)
{
	struct identity_map	*m;
	const struct principal	*ana, *cs;

	m = parse_ok(cast_text, strlen(cast_text));
	ana = identity_find_id(m, "plo-ana");
	assert_non_null(ana);
	assert_true(principal_in_team(ana, "police:plt"));
	assert_true(principal_in_team(ana, "hub:norwich"));
	/* A principal is a team of one under its own id. */
	assert_true(principal_in_team(ana, "plo-ana"));
	assert_false(principal_in_team(ana, "hub:dereham"));
	assert_false(principal_in_team(ana, "hub"));
	assert_false(principal_in_team(ana, "hub:norwich2"));
	assert_false(principal_in_team(ana, "police:plt,hub:norwich"));
	assert_false(principal_in_team(ana, ""));
	cs = identity_find_id(m, "case-system");
	assert_non_null(cs);
	assert_int_equal(cs->nteams, 0);
	assert_true(principal_in_team(cs, "case-system"));
	assert_false(principal_in_team(cs, "-"));
	identity_free(m);
}

static void
test_dup_free(void **state)
{
	struct identity_map	*m;
	struct principal	*a, *c;
	const struct principal	*p;

	m = parse_ok(cast_text, strlen(cast_text));
	p = identity_find_id(m, "plo-ana");
	a = principal_dup(p);
	assert_non_null(a);
	assert_true(a != p);
	assert_true(a->id != p->id && a->identity != p->identity &&
	    a->role != p->role && a->agency != p->agency &&
	    a->teams != p->teams && a->teams[0] != p->teams[0]);
	c = principal_dup(identity_find_id(m, "case-system"));
	assert_non_null(c);
	/* The copies outlive the map. */
	identity_free(m);
	assert_string_equal(a->identity, "plo-ana");
	assert_string_equal(a->id, "plo-ana");
	assert_string_equal(a->role, "police_liaison");
	assert_string_equal(a->agency, "police");
	assert_int_equal(a->nteams, 2);
	assert_string_equal(a->teams[0], "police:plt");
	assert_string_equal(a->teams[1], "hub:norwich");
	assert_int_equal(a->clearance, OS);
	assert_true(principal_in_team(a, "hub:norwich"));
	assert_string_equal(c->id, "case-system");
	assert_int_equal(c->nteams, 0);
	principal_free(a);
	principal_free(c);
	principal_free(NULL);
	identity_free(NULL);
}

static void
test_empty_and_comments(void **state)
{
	struct identity_map *m;

	m = parse_ok("", 0);
	assert_int_equal(identity_count(m), 0);
	assert_null(identity_lookup(m, "plo-ana"));
	assert_null(identity_at(m, 0));
	identity_free(m);

	m = parse_ok("# nothing\n\n   \n\t# indented comment\n", 33);
	assert_int_equal(identity_count(m), 0);
	identity_free(m);

	/* A comment straight after the last column. */
	m = parse_ok("a b r g t1,t2 OFFICIAL#c\n", 25);
	assert_int_equal(identity_count(m), 1);
	assert_int_equal(identity_at(m, 0)->clearance, OF);
	assert_int_equal(identity_at(m, 0)->nteams, 2);
	identity_free(m);
}

static void
test_limits_accepted(void **state)
{
	char			 text[2048];
	char			 field[257];
	struct identity_map	*m;
	size_t			 i;
	int			 n;

	/* A field of exactly 256 bytes. */
	memset(field, 'i', 256);
	field[256] = '\0';
	snprintf(text, sizeof(text), "%s p r a - OFFICIAL\n", field);
	m = parse_ok(text, strlen(text));
	assert_int_equal(strlen(identity_at(m, 0)->identity), 256);
	identity_free(m);

	/* 32 teams. */
	n = snprintf(text, sizeof(text), "i p r a ");
	for (i = 0; i < IDENTITY_MAX_TEAMS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%st%zu",
		    i > 0 ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, " OFFICIAL\n");
	m = parse_ok(text, strlen(text));
	assert_int_equal(identity_at(m, 0)->nteams, IDENTITY_MAX_TEAMS);
	assert_true(principal_in_team(identity_at(m, 0), "t31"));
	identity_free(m);

	/* Many lines: the array grows. */
	n = 0;
	for (i = 0; i < 20; i++)
		n += snprintf(text + n, sizeof(text) - n,
		    "i%zu p%zu r a - OFFICIAL\n", i, i);
	m = parse_ok(text, strlen(text));
	assert_int_equal(identity_count(m), 20);
	assert_string_equal(identity_lookup(m, "i19")->id, "p19");
	assert_string_equal(identity_find_id(m, "p7")->identity, "i7");
	identity_free(m);
}

/* ------------------------------------------------------------------------
 * Refusals, each with NAME:LINE:COL
 */

static void
test_too_few_columns(void **state)
{
	/* The column reported is just past the end of the short line. */
	expect_error("# c\nplo-ana plo-ana police_liaison police hub:norwich\n",
	    NAME ":2:50: expected clearance column; a line needs identity, "
	    "principal, role, agency, teams ('-' for none) and clearance");
	expect_error("lonely\n", NAME ":1:7: expected principal column");
	/* Bytes that are not UTF-8, pointed at (G20). */
	expect_error("# ok\nplo-\xe9na plo-ana police_liaison police - "
	    "OFFICIAL\n", NAME ":2:5: not valid UTF-8");
	expect_error("a b c # the rest is a comment\n",
	    NAME ":1:30: expected agency column");
	expect_error("a b r g - OFFICIAL\n\n  a2 b2 r g",
	    NAME ":3:12: expected teams column");
}

static void
test_too_many_columns(void **state)
{
	expect_error("a b r g - OFFICIAL\na2 b2 r g - OFFICIAL extra\n",
	    NAME ":2:22: extra column after clearance");
}

static void
test_bad_clearance(void **state)
{
	expect_error("a b r g - RESTRICTED\n",
	    NAME ":1:11: clearance must be OFFICIAL or OFFICIAL_SENSITIVE, "
	    "not \"RESTRICTED\"");
	expect_error("a b r g - SECRET\n",
	    NAME ":1:11: clearance must be OFFICIAL or OFFICIAL_SENSITIVE, "
	    "not \"SECRET\"");
	expect_error("a b r g - TOP_SECRET\n",
	    NAME ":1:11: clearance must be OFFICIAL or OFFICIAL_SENSITIVE, "
	    "not \"TOP_SECRET\"");
	expect_error("a b r g - MARKING_UNSPECIFIED\n",
	    NAME ":1:11: clearance must be");
}

static void
test_duplicates(void **state)
{
	expect_error("plo-ana plo-ana r g - OFFICIAL\n"
	    "# another\n"
	    "plo-ana other r g - OFFICIAL\n",
	    NAME ":3:1: identity \"plo-ana\" is mapped twice; an identity "
	    "must name one principal");
	expect_error("cert-1 plo-ana r g - OFFICIAL\n"
	    "cert-2   plo-ana r g - OFFICIAL\n",
	    NAME ":2:10: principal \"plo-ana\" is defined twice");
}

static void
test_control_character(void **state)
{
	/* At the start of a column. */
	expect_error("a b r g - OFFICIAL\n\x01" "a b2 r g - OFFICIAL\n",
	    NAME ":2:1: control character or non-ASCII byte");
	expect_error("a b r \x7fg - OFFICIAL\n",
	    NAME ":1:7: control character or non-ASCII byte");
	expect_error("a b r g \xc3\xa9quipe OFFICIAL\n",
	    NAME ":1:9: control character or non-ASCII byte");
	expect_error_len("a b r g \0 - OFFICIAL\n", 21,
	    NAME ":1:9: control character or non-ASCII byte");
}

/*
 * A control character inside a column is as bad as one at its start: the
 * same precise message, at the column of the byte itself.
 */
static void
test_control_character_inside_field(void **state)
{
	expect_error("plo\x01" "ana plo-ana r g - OFFICIAL\n",
	    NAME ":1:4: control character or non-ASCII byte");
}

/* Every column is checked, the teams column included. */
static void
test_control_character_in_teams(void **state)
{
	expect_error("a b r g hub:nor\x1bwich OFFICIAL\n",
	    NAME ":1:16: control character or non-ASCII byte");
}

/* A NUL byte must not silently cut an identity short. */
static void
test_nul_inside_field(void **state)
{
	static const char text[] = "plo-ana\0evil p r a - OFFICIAL\n";

	expect_error_len(text, sizeof(text) - 1,
	    NAME ":1:8: control character or non-ASCII byte");
}

static void
test_long_field(void **state)
{
	char	text[1024], field[258];

	memset(field, 'x', 257);
	field[257] = '\0';
	snprintf(text, sizeof(text), "a %s r g - OFFICIAL\n", field);
	expect_error(text, NAME ":1:3: principal is longer than 256 bytes");
	snprintf(text, sizeof(text), "a b r g - OFFICIAL\n%s b2 r g - "
	    "OFFICIAL\n", field);
	expect_error(text, NAME ":2:1: identity is longer than 256 bytes");
	snprintf(text, sizeof(text), "a b r g %s OFFICIAL\n", field);
	expect_error(text, NAME ":1:9: teams is longer than 256 bytes");
}

static void
test_comma_and_teams(void **state)
{
	char	text[1024];
	int	n, i;

	expect_error("a,b p r g - OFFICIAL\n",
	    NAME ":1:1: identity must not contain a comma");
	expect_error("a p role,x g - OFFICIAL\n",
	    NAME ":1:5: role must not contain a comma");
	n = snprintf(text, sizeof(text), "i p r a ");
	for (i = 0; i <= IDENTITY_MAX_TEAMS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%st%d",
		    i > 0 ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, " OFFICIAL\n");
	expect_error(text, NAME ":1:9: teams must be at most 32 "
	    "comma-separated names");
}

static void
test_load_missing(void **state)
{
	char			 err[512] = "";
	struct identity_map	*m;

	m = identity_load("/nonexistent/principals.conf", err, sizeof(err));
	assert_null(m);
	assert_string_equal(err, "/nonexistent/principals.conf: cannot open: "
	    "No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_cast),
		cmocka_unit_test(test_deploy_file),
		cmocka_unit_test(test_in_team),
		cmocka_unit_test(test_dup_free),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_limits_accepted),
		cmocka_unit_test(test_too_few_columns),
		cmocka_unit_test(test_too_many_columns),
		cmocka_unit_test(test_bad_clearance),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_control_character),
		cmocka_unit_test(test_control_character_inside_field),
		cmocka_unit_test(test_control_character_in_teams),
		cmocka_unit_test(test_nul_inside_field),
		cmocka_unit_test(test_long_field),
		cmocka_unit_test(test_comma_and_teams),
		cmocka_unit_test(test_load_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
