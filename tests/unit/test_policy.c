/*
 * Unit tests for daemon/policy.c, the sharing policy engine.
 *
 * - A decision table, tests/data/policy-cases.txt, put to deploy/policy.nwd
 *   with the principals of deploy/principals.conf (the scenarios of
 *   shared/SCENARIOS.md), in the manner of pgbouncer's HBA tests.
 * - Bad policies, the files in tests/data/bad-policies/, each naming on its first
 *   line the "NAME:LINE:COL: message" it must be refused with.
 * - Property tests over generated policies, checked against a model of the
 *   documented semantics: default deny, deny wins, allows are additive (the
 *   strip set is the intersection), clearance caps every delivery.
 *
 * NWD_TEST_SEED in the environment replays one run of the property tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "envelope.h"
#include "identity.h"
#include "policy.h"
#include "redact.h"

#define POLICY_FILE	NWD_TEST_DATA "/../../deploy/policy.nwd"
#define PRINCIPALS_FILE	NWD_TEST_DATA "/../../deploy/principals.conf"
#define CASES_FILE	NWD_TEST_DATA "/policy-cases.txt"
#define BAD_DIR		NWD_TEST_DATA "/bad-policies"

/* ------------------------------------------------------------------------
 * Helpers
 */

/* Reads a whole file into a new NUL-terminated buffer; NULL on failure. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc(n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(buf, 1, n, fp) != (size_t)n) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	*lenp = (size_t)n;
	return buf;
}

static struct policy *
parse_ok(const char *text, const char *name)
{
	char		 err[512] = "";
	struct policy	*p;

	p = policy_parse(text, strlen(text), name, err, sizeof(err));
	if (p == NULL)
		fail_msg("policy %s does not parse: %s", name, err);
	return p;
}

/*
 * An envelope with a header of kind and marking and an empty body of the
 * kind, which is all the policy engine looks at.
 */
struct env {
	Nwd__V1__Envelope	 e;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 subj;
	union {
		ProtobufCMessage	 m;
		char			 space[512];
		long double		 align;
	} body;
};

static void
env_init(struct env *v, Nwd__V1__Kind kind, Nwd__V1__Marking marking)
{
	static const Nwd__V1__Envelope ei = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__Header hi = NWD__V1__HEADER__INIT;
	static const Nwd__V1__SubjectRef si = NWD__V1__SUBJECT_REF__INIT;
	const ProtobufCMessageDescriptor *d = kind_body_descriptor(kind);
	const ProtobufCFieldDescriptor *fd;

	v->e = ei;
	v->h = hi;
	v->subj = si;
	v->subj.local_id = "YP-001";
	v->h.kind = kind;
	v->h.subject = &v->subj;
	v->h.marking = marking;
	v->h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	v->e.header = &v->h;
	assert_non_null(d);
	assert_true(d->sizeof_message <= sizeof(v->body.space));
	protobuf_c_message_init(d, &v->body);
	v->e.body_case = kind_body_case(kind);
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, v->e.body_case);
	assert_non_null(fd);
	*(ProtobufCMessage **)((char *)&v->e + fd->offset) = &v->body.m;
}

/* A principal with a role and clearance, for generated policies. */
static struct principal
who(const char *role, int clearance)
{
	struct principal p;

	memset(&p, 0, sizeof(p));
	p.identity = (char *)"test-identity";
	p.id = (char *)"test-principal";
	p.role = (char *)role;
	p.agency = (char *)"test";
	p.clearance = clearance;
	return p;
}

static enum policy_verdict
decide(const struct policy *p, const struct principal *pr, int publish,
    Nwd__V1__Kind kind, Nwd__V1__Marking marking, struct policy_decision *d)
{
	struct env		v;
	enum policy_verdict	r;

	env_init(&v, kind, marking);
	memset(d, 0x5a, sizeof(*d));	/* the engine must set everything */
	r = publish ? policy_check_publish(p, pr, &v.e, d) :
	    policy_check_deliver(p, pr, &v.e, d);
	assert_int_equal(r, d->verdict);
	return r;
}

/* Returns 1 if the decision's strip list holds exactly the paths in csv. */
static int
strip_equals(const struct policy_decision *d, const char *csv)
{
	char	 buf[1024], *tok, *save = NULL;
	size_t	 n = 0, i, j;

	for (i = 0; i < d->nstrip; i++)
		for (j = i + 1; j < d->nstrip; j++)
			if (strcmp(d->strip[i], d->strip[j]) == 0)
				return 0;
	snprintf(buf, sizeof(buf), "%s", csv);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < d->nstrip; i++)
			if (strcmp(d->strip[i], tok) == 0)
				break;
		if (i == d->nstrip)
			return 0;
		n++;
	}
	return n == d->nstrip;
}

static void
strip_csv(const struct policy_decision *d, char *out, size_t outlen)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < d->nstrip && n < outlen; i++)
		n += snprintf(out + n, outlen - n, "%s%s", i > 0 ? "," : "",
		    d->strip[i]);
}

/* ------------------------------------------------------------------------
 * The shipped policy and principals, loaded once.
 */

static struct policy		*deploy_policy;
static struct identity_map	*deploy_principals;
static char			*deploy_text;
static size_t			 deploy_len;

static int
load_deploy(void **state)
{
	char	 err[512] = "";
	char	*text;
	size_t	 len;

	if ((deploy_text = slurp(POLICY_FILE, &deploy_len)) == NULL) {
		fprintf(stderr, "%s: %s\n", POLICY_FILE, strerror(errno));
		return -1;
	}
	deploy_policy = policy_parse(deploy_text, deploy_len,
	    "deploy/policy.nwd", err, sizeof(err));
	if (deploy_policy == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if ((text = slurp(PRINCIPALS_FILE, &len)) == NULL) {
		fprintf(stderr, "%s: %s\n", PRINCIPALS_FILE, strerror(errno));
		return -1;
	}
	/* identity_parse on the file text, as the broker's loader does. */
	deploy_principals = identity_parse(text, len,
	    "deploy/principals.conf", err, sizeof(err));
	free(text);
	if (deploy_principals == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
free_deploy(void **state)
{
	policy_free(deploy_policy);
	identity_free(deploy_principals);
	free(deploy_text);
	return 0;
}

/* ------------------------------------------------------------------------
 * The decision table
 */

/* Checks one line of the table; returns NULL or what went wrong. */
static const char *
check_case(char *line, char *why, size_t whylen)
{
	char			*f[8], *save = NULL, *tok;
	size_t			 nf = 0, i;
	const struct principal	*pr;
	Nwd__V1__Kind		 kind;
	Nwd__V1__Marking	 marking;
	enum policy_verdict	 want, got;
	const char		*rules = "", *strip = NULL;
	struct policy_decision	 d;
	int			 publish;
	char			 gotstrip[512];

	for (tok = strtok_r(line, " \t", &save); tok != NULL && nf < 8;
	    tok = strtok_r(NULL, " \t", &save))
		f[nf++] = tok;
	if (nf < 5 || nf > 7 || tok != NULL)
		return "expected 5 to 7 columns";
	if ((pr = identity_find_id(deploy_principals, f[0])) == NULL)
		return "unknown principal";
	if (strcmp(f[1], "publish") == 0)
		publish = 1;
	else if (strcmp(f[1], "deliver") == 0)
		publish = 0;
	else
		return "action must be publish or deliver";
	if (kind_from_name(f[2], &kind) == -1)
		return "unknown kind";
	if (marking_from_name(f[3], &marking) == -1)
		return "unknown marking";
	if (strcmp(f[4], "allow") == 0)
		want = POLICY_ALLOW;
	else if (strcmp(f[4], "deny") == 0)
		want = POLICY_DENY;
	else if (strcmp(f[4], "norule") == 0)
		want = POLICY_DENY_NO_RULE;
	else
		return "verdict must be allow, deny or norule";
	for (i = 5; i < nf; i++) {
		if (strncmp(f[i], "strip=", 6) == 0)
			strip = f[i] + 6;
		else if (i == 5)
			rules = strcmp(f[i], "-") == 0 ? "" : f[i];
		else
			return "junk after the rules";
	}
	if (strip != NULL && (want != POLICY_ALLOW || publish))
		return "strip= only goes with an allowed delivery";

	got = decide(deploy_policy, pr, publish, kind, marking, &d);
	if (got != want) {
		snprintf(why, whylen, "verdict %s, expected %s (rules \"%s\", "
		    "reason \"%s\")", policy_verdict_name(got),
		    policy_verdict_name(want), d.rules, d.reason);
		return why;
	}
	if (strcmp(d.rules, rules) != 0) {
		snprintf(why, whylen, "rules \"%s\", expected \"%s\"", d.rules,
		    rules);
		return why;
	}
	if (d.reason[0] == '\0' && got != POLICY_ALLOW)
		return "a refusal without a reason";
	if (got != POLICY_ALLOW && d.nstrip != 0)
		return "a refusal with a strip list";
	if (!strip_equals(&d, strip != NULL ? strip : "")) {
		strip_csv(&d, gotstrip, sizeof(gotstrip));
		snprintf(why, whylen, "strip \"%s\", expected \"%s\"", gotstrip,
		    strip != NULL ? strip : "");
		return why;
	}
	return NULL;
}

static void
test_decision_table(void **state)
{
	char		*text, *line, *next, copy[1024], why[1024];
	const char	*bad;
	size_t		 len;
	int		 lineno = 0, ncases = 0, nbad = 0;

	text = slurp(CASES_FILE, &len);
	if (text == NULL)
		fail_msg("%s: %s", CASES_FILE, strerror(errno));
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		snprintf(copy, sizeof(copy), "%s", line);
		ncases++;
		if ((bad = check_case(line, why, sizeof(why))) != NULL) {
			print_error("policy-cases.txt:%d: %s\n    %s\n", lineno,
			    bad, copy);
			nbad++;
		}
	}
	free(text);
	/* The table must not silently shrink to nothing. */
	assert_true(ncases >= 60);
	if (nbad > 0)
		fail_msg("%d of %d policy cases failed", nbad, ncases);
}

/* The decisions the scenarios hinge on, with their reasons. */
static void
test_scenario_reasons(void **state)
{
	struct policy_decision	 d;
	const struct principal	*p;

	/* S7 */
	p = identity_find_id(deploy_principals, "sw-ben");
	assert_int_equal(decide(deploy_policy, p, 1,
	    NWD__V1__KIND__INTELLIGENCE_REPORT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_DENY_NO_RULE);
	assert_string_equal(d.rules, "");
	assert_string_equal(d.reason, "no publish rule lets role social_worker "
	    "publish intelligence_report");
	assert_string_equal(policy_verdict_name(d.verdict), "deny (no rule)");

	/* S3 */
	p = identity_find_id(deploy_principals, "plo-ana");
	assert_int_equal(decide(deploy_policy, p, 0,
	    NWD__V1__KIND__CAMHS_UPDATE, NWD__V1__MARKING__OFFICIAL, &d),
	    POLICY_DENY);
	assert_string_equal(d.reason, "rule no-camhs-to-police forbids role "
	    "police_liaison to receive camhs_update");
	assert_string_equal(policy_verdict_name(d.verdict), "deny");

	/* S12 */
	p = identity_find_id(deploy_principals, "keyworker-kim");
	assert_int_equal(decide(deploy_policy, p, 0,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__OFFICIAL_SENSITIVE,
	    &d), POLICY_DENY);
	assert_string_equal(d.rules, "clearance");
	assert_string_equal(d.reason, "marking OFFICIAL_SENSITIVE is above the "
	    "recipient's clearance OFFICIAL");
	assert_int_equal(d.nstrip, 0);

	/* A publish above the rule's max. */
	p = identity_find_id(deploy_principals, "plo-ana");
	assert_int_equal(decide(deploy_policy, p, 1,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__SECRET, &d),
	    POLICY_DENY);
	assert_string_equal(d.reason, "rule police-intelligence lets role "
	    "police_liaison publish risk_alert only up to OFFICIAL_SENSITIVE");
	assert_string_equal(policy_verdict_name(POLICY_ALLOW), "allow");
}

/* Whatever the marking and whatever else matches: no CamhsUpdate to police. */
static void
test_no_camhs_to_police(void **state)
{
	struct policy_decision	 d;
	const struct principal	*p;
	size_t			 i;
	int			 m, npolice = 0;

	for (i = 0; i < identity_count(deploy_principals); i++) {
		p = identity_at(deploy_principals, i);
		if (strcmp(p->role, "police_liaison") != 0)
			continue;
		npolice++;
		for (m = NWD__V1__MARKING__OFFICIAL;
		    m <= NWD__V1__MARKING__TOP_SECRET; m++)
			assert_int_equal(decide(deploy_policy, p, 0,
			    NWD__V1__KIND__CAMHS_UPDATE, m, &d), POLICY_DENY);
	}
	assert_true(npolice >= 1);
}

/* No delivery ever exceeds the recipient's clearance, for the whole cast. */
static void
test_clearance_caps_everyone(void **state)
{
	struct policy_decision	 d;
	const struct principal	*p;
	size_t			 i;
	int			 k, m, nallow = 0;

	for (i = 0; i < identity_count(deploy_principals); i++) {
		p = identity_at(deploy_principals, i);
		for (k = 1; kind_name(k) != NULL; k++) {
			for (m = NWD__V1__MARKING__OFFICIAL;
			    m <= NWD__V1__MARKING__TOP_SECRET; m++) {
				if (decide(deploy_policy, p, 0, k, m, &d) !=
				    POLICY_ALLOW)
					continue;
				nallow++;
				if (m > p->clearance)
					fail_msg("%s (clearance %s) receives "
					    "%s marked %s", p->id,
					    marking_name(p->clearance),
					    kind_name(k), marking_name(m));
			}
		}
	}
	assert_true(nallow > 20);
}

static void
test_deploy_settings(void **state)
{
	const char *v = policy_version(deploy_policy);

	assert_non_null(policy_duty(deploy_policy));
	assert_string_equal(policy_duty(deploy_policy), "duty-mash");
	/* The duty principal exists in the mapping. */
	assert_non_null(identity_find_id(deploy_principals,
	    policy_duty(deploy_policy)));
	assert_true(policy_nrules(deploy_policy) >= 12);
	assert_int_equal(strlen(v), POLICY_VERSION_LEN - 1);
}

/* ------------------------------------------------------------------------
 * Policy versions
 */

static void
test_version(void **state)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		 want[POLICY_VERSION_LEN], *text2;
	const char	*v;
	struct policy	*p, *q;
	char		 err[256];

	/* "sha256:" and the first 16 hex digits of the text's SHA-256. */
	v = policy_version(deploy_policy);
	assert_int_equal(strncmp(v, "sha256:", 7), 0);
	assert_int_equal(strlen(v), 7 + 16);
	for (i = 7; i < 23; i++)
		assert_true(isxdigit((unsigned char)v[i]) &&
		    !isupper((unsigned char)v[i]));
	assert_int_equal(EVP_Digest(deploy_text, deploy_len, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	memcpy(want, "sha256:", 7);
	for (i = 0; i < 8; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(v, want);

	/* The same text gives the same version. */
	p = policy_parse(deploy_text, deploy_len, "again", err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(policy_version(p), v);

	/* Any change, even a comment, gives another. */
	text2 = malloc(deploy_len + 32);
	assert_non_null(text2);
	memcpy(text2, deploy_text, deploy_len);
	memcpy(text2 + deploy_len, "# edited\n", 10);
	q = policy_parse(text2, deploy_len + 9, "edited", err, sizeof(err));
	assert_non_null(q);
	assert_string_not_equal(policy_version(q), v);
	assert_int_equal(strncmp(policy_version(q), "sha256:", 7), 0);
	policy_free(q);
	free(text2);
	policy_free(p);

	p = parse_ok("duty a\n", "x");
	q = parse_ok("duty b\n", "x");
	assert_string_not_equal(policy_version(p), policy_version(q));
	policy_free(p);
	policy_free(q);
}

/* ------------------------------------------------------------------------
 * Accepted edge cases
 */

static void
test_minimal_policies(void **state)
{
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 anyone = who("social_worker",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);

	/* Empty: no rules, no duty, everything refused as no rule. */
	p = parse_ok("", "empty");
	assert_int_equal(policy_nrules(p), 0);
	assert_null(policy_duty(p));
	assert_int_equal(decide(p, &anyone, 0, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	assert_string_equal(d.reason, "no deliver rule lets role "
	    "social_worker receive risk_alert");
	assert_int_equal(decide(p, &anyone, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	policy_free(p);

	p = parse_ok("# only comments\n\n   # indented\n", "comments");
	assert_int_equal(policy_nrules(p), 0);
	policy_free(p);

	/* One line, no final newline, "*" roles. */
	p = parse_ok("allow deliver all: roles * kinds *", "star");
	assert_int_equal(policy_nrules(p), 1);
	assert_int_equal(decide(p, &anyone, 0, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "all");
	/* A deliver rule says nothing about publishing. */
	assert_int_equal(decide(p, &anyone, 1, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	policy_free(p);

	/* A word as the policy title; comments after statements. */
	p = parse_ok("policy short # title\nduty duty-mash # desk\n", "w");
	assert_string_equal(policy_duty(p), "duty-mash");
	policy_free(p);
}

/* Deny wins wherever it stands, and names only itself. */
static void
test_deny_order(void **state)
{
	static const char *texts[] = {
		"deny deliver d: roles hub_system kinds risk_alert\n"
		"allow deliver a: roles hub_system kinds risk_alert\n",
		"allow deliver a: roles hub_system kinds risk_alert\n"
		"deny deliver d: roles hub_system kinds risk_alert\n",
	};
	struct principal	 hub = who("hub_system",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	struct policy_decision	 d;
	struct policy		*p;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		p = parse_ok(texts[i], "order");
		assert_int_equal(decide(p, &hub, 0, NWD__V1__KIND__RISK_ALERT,
		    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY);
		assert_string_equal(d.rules, "d");
		assert_int_equal(d.nstrip, 0);
		/* Other kinds are untouched by the deny. */
		assert_int_equal(decide(p, &hub, 0,
		    NWD__V1__KIND__ALLOCATION, NWD__V1__MARKING__OFFICIAL, &d),
		    POLICY_DENY_NO_RULE);
		policy_free(p);
	}
}

/* max OFFICIAL lets OFFICIAL through and refuses OFFICIAL-SENSITIVE. */
static void
test_publish_max(void **state)
{
	struct principal	 kim = who("hub_keyworker",
				    NWD__V1__MARKING__OFFICIAL);
	struct policy_decision	 d;
	struct policy		*p;

	p = parse_ok("allow publish low: roles hub_keyworker kinds risk_alert "
	    "max OFFICIAL\n", "max");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "low");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_DENY);
	assert_string_equal(d.rules, "low");
	assert_non_null(strstr(d.reason, "only up to OFFICIAL"));
	policy_free(p);

	/* A second allow with a higher max lets it through. */
	p = parse_ok("allow publish low: roles hub_keyworker kinds risk_alert "
	    "max OFFICIAL\nallow publish high: roles * kinds risk_alert\n",
	    "max2");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "high");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "low,high");
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * Refusals: tests/data/bad-policies/ and a few that cannot be files.
 */

static const char *const required_bad[] = {
	"unknown-kind.nwd", "unknown-clause.nwd", "missing-colon.nwd",
	"missing-roles.nwd", "missing-kinds.nwd", "duplicate-rule.nwd",
	"strip-on-deny.nwd", "max-on-deliver.nwd", "bad-marking.nwd",
	"strip-unknown-path.nwd", "unterminated-string.nwd",
	"unexpected-char.nwd", "not-at-line-start.nwd",
	"duplicate-policy.nwd", "duplicate-duty.nwd",
};

static int
check_bad_file(const char *name)
{
	char		 path[1024], err[512] = "", want[512];
	char		*text, *nl;
	size_t		 len;
	struct policy	*p;

	snprintf(path, sizeof(path), "%s/%s", BAD_DIR, name);
	if ((text = slurp(path, &len)) == NULL) {
		print_error("%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (strncmp(text, "# expect: ", 10) != 0 ||
	    (nl = strchr(text, '\n')) == NULL ||
	    (size_t)(nl - text - 10) >= sizeof(want)) {
		print_error("%s: the first line must be \"# expect: "
		    "NAME:LINE:COL: message\"\n", name);
		free(text);
		return -1;
	}
	memcpy(want, text + 10, nl - text - 10);
	want[nl - text - 10] = '\0';
	p = policy_parse(text, len, name, err, sizeof(err));
	free(text);
	if (p != NULL) {
		policy_free(p);
		print_error("%s: accepted; expected \"%s\"\n", name, want);
		return -1;
	}
	if (strncmp(err, want, strlen(want)) != 0) {
		print_error("%s:\n    expected \"%s...\"\n    got      \"%s\"\n",
		    name, want, err);
		return -1;
	}
	return 0;
}

static void
test_bad_policies(void **state)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[1024];
	size_t		 i, n;
	int		 nfiles = 0, nbad = 0;
	FILE		*fp;

	/* Every case the language must refuse has its file. */
	for (i = 0; i < sizeof(required_bad) / sizeof(required_bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, required_bad[i]);
		if ((fp = fopen(path, "r")) == NULL)
			fail_msg("%s is missing", path);
		fclose(fp);
	}
	if ((d = opendir(BAD_DIR)) == NULL)
		fail_msg("%s: %s", BAD_DIR, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".nwd") != 0)
			continue;
		nfiles++;
		if (check_bad_file(de->d_name) == -1)
			nbad++;
	}
	closedir(d);
	assert_true((size_t)nfiles >=
	    sizeof(required_bad) / sizeof(required_bad[0]));
	if (nbad > 0)
		fail_msg("%d of %d bad policies not refused as expected", nbad,
		    nfiles);
}

static void
test_bad_inline(void **state)
{
	static const char nul[] = "duty a\0\n";
	char		 err[512], longword[300];
	struct policy	*p;

	p = policy_parse(nul, sizeof(nul) - 1, "nul", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "nul: contains a NUL byte");

	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	memcpy(longword, "duty ", 5);
	p = policy_parse(longword, strlen(longword), "long", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "long:1:6: word longer than 128 bytes");

	p = policy_parse("policy \"a\tb\"\n", 13, "ctl", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "ctl:1:8: control character in string");

	/* A short error buffer is never overrun. */
	memset(err, 'X', sizeof(err));
	p = policy_parse("bogus\n", 6, "short", err, 10);
	assert_null(p);
	assert_int_equal(err[9], '\0');
	assert_int_equal(err[10], 'X');
}

/*
 * The same policy with CRLF line ends must mean the same: a blank line
 * inside a rule is allowed with LF ("\n\n" continues the rule), so it must
 * be with CRLF too.
 */
static void
test_crlf(void **state)
{
	static const char lf[] = "allow deliver a:\n\n    roles hub_system\n"
	    "    kinds risk_alert\n";
	static const char crlf[] = "allow deliver a:\r\n\r\n"
	    "    roles hub_system\r\n    kinds risk_alert\r\n";
	char		 err[512] = "";
	struct policy	*p;

	p = parse_ok(lf, "lf");
	assert_int_equal(policy_nrules(p), 1);
	policy_free(p);
	p = policy_parse(crlf, sizeof(crlf) - 1, "crlf", err, sizeof(err));
	if (p == NULL)
		fail_msg("the CRLF form of a valid policy is refused: %s", err);
	assert_int_equal(policy_nrules(p), 1);
	policy_free(p);
}

/*
 * "*" means every role.  In a list ("roles *, hub_system") it must either
 * still mean every role or be refused; it must not quietly mean a role
 * literally named "*".
 */
static void
test_star_in_role_list(void **state)
{
	char			 err[512] = "";
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 sw = who("social_worker",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	const char		*text = "allow deliver a: roles *, hub_system "
				    "kinds risk_alert\n";
	enum policy_verdict	 v;

	p = policy_parse(text, strlen(text), "star", err, sizeof(err));
	if (p == NULL)
		return;		/* refusing it is fine */
	v = decide(p, &sw, 0, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d);
	policy_free(p);
	if (v != POLICY_ALLOW)
		fail_msg("\"roles *, hub_system\" was accepted but does not "
		    "match role social_worker");
}

/*
 * policy.h: "a field is withheld only if every matching allow strips it".
 * One allow strips grading, another grading.handling_conditions: both
 * withhold the handling conditions, so the delivery must not carry them.
 * Checked end to end through redact_pack().
 */
static void
test_strip_intersection_nested(void **state)
{
	static const char text[] =
	    "allow deliver no-grading: roles hub_system "
	    "kinds intelligence_report strip grading\n"
	    "allow deliver no-conditions: roles hub_system "
	    "kinds intelligence_report strip grading.handling_conditions\n";
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 hub = who("hub_system",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	Nwd__V1__Envelope	 e = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__IntelligenceReport r = NWD__V1__INTELLIGENCE_REPORT__INIT;
	Nwd__V1__Grading	 g = NWD__V1__GRADING__INIT;
	uint8_t			*buf;
	size_t			 len = 0;
	int			 leaked;
	static const char	 cond[] = "CONDITIONS-not-for-the-hub-4e1f";

	p = parse_ok(text, "nested");
	subj.local_id = "YP-001";
	h.kind = NWD__V1__KIND__INTELLIGENCE_REPORT;
	h.subject = &subj;
	h.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	g.source_evaluation = 2;
	g.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	g.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	g.handling_conditions = (char *)cond;
	r.grading = &g;
	r.sanitised = 1;
	r.summary = "summary";
	e.header = &h;
	e.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	e.intelligence_report = &r;

	assert_int_equal(policy_check_deliver(p, &hub, &e, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "no-grading,no-conditions");
	buf = redact_pack(&e, d.strip, d.nstrip, &len, NULL, 0);
	assert_non_null(buf);
	leaked = memmem(buf, len, cond, strlen(cond)) != NULL;
	free(buf);
	policy_free(p);
	if (leaked)
		fail_msg("both matching allows withhold "
		    "grading.handling_conditions, yet it is delivered (strip "
		    "set has %zu paths)", d.nstrip);
}

/* ------------------------------------------------------------------------
 * Property tests over generated policies
 */

#define NROLES		4
#define NKIND		9
#define MAX_RULES	12
#define MAX_FIELDS	64

static const char *const roles[NROLES] = { "ra", "rb", "rc", "rd" };

/* Every top-level body field name, and per kind the ones it has. */
static const char	*fields[MAX_FIELDS];
static size_t		 nfields;
static uint64_t		 kind_fields[NKIND + 1];

static void
collect_fields(void)
{
	const ProtobufCMessageDescriptor	*d;
	size_t					 i, j;
	int					 k;

	if (nfields > 0)
		return;
	for (k = 1; k <= NKIND; k++) {
		d = kind_body_descriptor(k);
		assert_non_null(d);
		for (i = 0; i < d->n_fields; i++) {
			for (j = 0; j < nfields; j++)
				if (strcmp(fields[j], d->fields[i].name) == 0)
					break;
			if (j == nfields) {
				assert_true(nfields < MAX_FIELDS);
				fields[nfields++] = d->fields[i].name;
			}
			kind_fields[k] |= 1ULL << j;
		}
	}
}

static int
field_index(const char *name)
{
	size_t j;

	for (j = 0; j < nfields; j++)
		if (strcmp(fields[j], name) == 0)
			return (int)j;
	return -1;
}

struct mrule {
	char		name[8];
	int		deny, publish;
	unsigned	roles;		/* bit per role; all bits = "*" */
	unsigned	kinds;		/* bit per kind */
	int		max;		/* publish allow */
	uint64_t	strip;		/* deliver allow */
};

struct model {
	struct mrule	r[MAX_RULES + 1];
	size_t		n;
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned
rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static uint64_t
seed(void)
{
	const char *s = getenv("NWD_TEST_SEED");

	return s != NULL ? strtoull(s, NULL, 0) : 0x6e77642d706f6cULL;
}

static void
gen_rule(struct mrule *r, size_t i)
{
	uint64_t	cand;
	size_t		j;
	int		k;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "r%zu", i);
	r->publish = rng_below(2);
	r->deny = rng_below(5) == 0;
	r->roles = rng_below(6) == 0 ? (1u << NROLES) - 1 :
	    1u + rng_below((1u << NROLES) - 1);
	if (rng_below(8) == 0)
		r->kinds = ((1u << NKIND) - 1) << 1;
	else
		while (r->kinds == 0)
			for (k = 1; k <= NKIND; k++)
				if (rng_below(3) == 0)
					r->kinds |= 1u << k;
	r->max = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	if (r->publish && !r->deny && rng_below(3) == 0)
		r->max = NWD__V1__MARKING__OFFICIAL;
	if (!r->publish && !r->deny) {
		cand = 0;
		for (k = 1; k <= NKIND; k++)
			if (r->kinds & (1u << k))
				cand |= kind_fields[k];
		for (j = 0; j < nfields; j++)
			if ((cand & (1ULL << j)) && rng_below(3) == 0)
				r->strip |= 1ULL << j;
	}
}

/* Writes the model as policy text, varying the layout as the language
 * allows (continuation lines, comments, spacing). */
static void
write_policy(const struct model *m, char *buf, size_t len)
{
	size_t	n = 0, i, j, c;
	int	k;
	const char *sep;

#define OUT(...) do {							\
	n += snprintf(buf + n, len - n, __VA_ARGS__);			\
	assert_true(n < len);						\
} while (0)
#define BREAK() OUT("%s", rng_below(3) == 0 ? "\n    " : " ")

	OUT("# generated\npolicy \"generated\"\n");
	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (rng_below(4) == 0)
			OUT("\n# rule %zu\n", i);
		OUT("%s %s %s:", r->deny ? "deny" : "allow",
		    r->publish ? "publish" : "deliver", r->name);
		BREAK();
		OUT("roles ");
		if (r->roles == (1u << NROLES) - 1 && rng_below(2) == 0)
			OUT("*");
		else
			for (j = 0, sep = ""; j < NROLES; j++)
				if (r->roles & (1u << j)) {
					OUT("%s%s", sep, roles[j]);
					sep = ", ";
				}
		BREAK();
		OUT("kinds ");
		if (r->kinds == ((1u << NKIND) - 1) << 1)
			OUT("*");
		else
			for (k = 1, sep = ""; k <= NKIND; k++)
				if (r->kinds & (1u << k)) {
					OUT("%s%s", sep, kind_name(k));
					sep = rng_below(2) ? "," : " ,\n\t";
				}
		if (r->publish && !r->deny &&
		    (r->max != NWD__V1__MARKING__OFFICIAL_SENSITIVE ||
		    rng_below(2))) {
			BREAK();
			OUT("max %s", marking_name(r->max));
		}
		if (r->strip != 0) {
			BREAK();
			OUT("strip ");
			for (c = 0, sep = ""; c < nfields; c++)
				if (r->strip & (1ULL << c)) {
					OUT("%s%s", sep, fields[c]);
					sep = ", ";
				}
		}
		OUT("%s\n", rng_below(4) == 0 ? "   # trailing" : "");
	}
#undef BREAK
#undef OUT
}

struct expect {
	enum policy_verdict	verdict;
	uint64_t		strip;
	int			nallow;		/* matching allows */
	int			ndeny;		/* matching denies */
	char			rules[256];
	const struct mrule	*first_deny;
};

static int
mrule_matches(const struct mrule *r, int publish, unsigned role, int kind)
{
	return r->publish == publish && (r->roles & (1u << role)) &&
	    (r->kinds & (1u << kind));
}

/* The documented semantics, written out plainly. */
static void
model_decide(const struct model *m, int publish, unsigned role, int kind,
    int marking, int clearance, struct expect *x)
{
	size_t	i;
	int	too_low = 0;

	memset(x, 0, sizeof(*x));
	x->strip = ~0ULL;
	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (!mrule_matches(r, publish, role, kind))
			continue;
		if (r->deny) {
			if (x->ndeny++ == 0)
				x->first_deny = r;
			continue;
		}
		if (publish && marking > r->max) {
			too_low = 1;
			continue;
		}
		x->nallow++;
		x->strip &= r->strip;
		snprintf(x->rules + strlen(x->rules),
		    sizeof(x->rules) - strlen(x->rules), "%s%s",
		    x->rules[0] != '\0' ? "," : "", r->name);
	}
	if (x->nallow == 0)
		x->strip = 0;
	if (x->ndeny > 0) {
		x->verdict = POLICY_DENY;
		snprintf(x->rules, sizeof(x->rules), "%s", x->first_deny->name);
		x->strip = 0;
	} else if (x->nallow == 0) {
		x->verdict = too_low ? POLICY_DENY : POLICY_DENY_NO_RULE;
		x->rules[0] = '\0';
	} else if (!publish && marking > clearance) {
		x->verdict = POLICY_DENY;
		snprintf(x->rules, sizeof(x->rules), "clearance");
		x->strip = 0;
	} else
		x->verdict = POLICY_ALLOW;
}

static uint64_t
strip_mask(const struct policy_decision *d)
{
	uint64_t	mask = 0;
	size_t		i;
	int		j;

	for (i = 0; i < d->nstrip; i++) {
		j = field_index(d->strip[i]);
		if (j < 0)
			fail_msg("strip path \"%s\" is not a body field",
			    d->strip[i]);
		if (mask & (1ULL << j))
			fail_msg("strip path \"%s\" twice", d->strip[i]);
		mask |= 1ULL << j;
	}
	return mask;
}

struct stats {
	int	cases, allow, deny, norule, clearance, multi_allow, flipped;
};

/* Checks every (action, role, kind, marking, clearance) against the model. */
static void
check_model(const struct model *m, const char *text, struct stats *st)
{
	char			 err[512] = "";
	struct policy		*p;
	struct policy_decision	 d;
	struct expect		 x;
	struct principal	 pr;
	enum policy_verdict	 got;
	unsigned		 role;
	int			 publish, kind, marking, clearance;

	p = policy_parse(text, strlen(text), "generated", err, sizeof(err));
	if (p == NULL)
		fail_msg("seed %#llx: generated policy refused: %s\n%s",
		    (unsigned long long)seed(), err, text);
	assert_int_equal(policy_nrules(p), m->n);
	for (publish = 0; publish <= 1; publish++)
	for (role = 0; role < NROLES; role++)
	for (kind = 1; kind <= NKIND; kind++)
	for (marking = NWD__V1__MARKING__OFFICIAL;
	    marking <= NWD__V1__MARKING__OFFICIAL_SENSITIVE; marking++)
	for (clearance = NWD__V1__MARKING__OFFICIAL;
	    clearance <= NWD__V1__MARKING__OFFICIAL_SENSITIVE; clearance++) {
		pr = who(roles[role], clearance);
		model_decide(m, publish, role, kind, marking, clearance, &x);
		got = decide(p, &pr, publish, kind, marking, &d);
		st->cases++;
		if (got != x.verdict)
			fail_msg("seed %#llx: %s %s %s %s (clearance %s): "
			    "engine %s (%s), model %s\n%s",
			    (unsigned long long)seed(),
			    roles[role], publish ? "publish" : "deliver",
			    kind_name(kind), marking_name(marking),
			    marking_name(clearance), policy_verdict_name(got),
			    d.rules, policy_verdict_name(x.verdict), text);
		/* (a) no matching allow: never allowed; no rule at all: NO_RULE */
		if (x.nallow == 0)
			assert_int_not_equal(got, POLICY_ALLOW);
		if (x.nallow == 0 && x.ndeny == 0 && !(publish &&
		    x.verdict == POLICY_DENY))
			assert_int_equal(got, POLICY_DENY_NO_RULE);
		if (got == POLICY_ALLOW || x.first_deny != NULL ||
		    x.verdict == POLICY_DENY_NO_RULE ||
		    strcmp(x.rules, "clearance") == 0)
			if (strcmp(d.rules, x.rules) != 0)
				fail_msg("seed %#llx: rules \"%s\", model "
				    "\"%s\"\n%s", (unsigned long long)seed(),
				    d.rules, x.rules, text);
		if (got != POLICY_ALLOW) {
			assert_int_equal(d.nstrip, 0);
			assert_true(d.reason[0] != '\0');
		}
		/* (c) the strip set is the intersection of the allows'. */
		if (strip_mask(&d) != x.strip)
			fail_msg("seed %#llx: %s deliver %s: strip set differs "
			    "from the intersection of %d allows\n%s",
			    (unsigned long long)seed(), roles[role],
			    kind_name(kind), x.nallow, text);
		switch (got) {
		case POLICY_ALLOW:
			st->allow++;
			if (x.nallow >= 2 && !publish)
				st->multi_allow++;
			break;
		case POLICY_DENY:
			st->deny++;
			if (strcmp(d.rules, "clearance") == 0)
				st->clearance++;
			break;
		default:
			st->norule++;
		}
	}
	policy_free(p);
}

static void
test_property_model(void **state)
{
	struct model	 m;
	struct stats	 st;
	char		 text[16384];
	size_t		 i;
	int		 iter;

	collect_fields();
	rng_state = seed() | 1;
	memset(&st, 0, sizeof(st));
	for (iter = 0; iter < 300; iter++) {
		m.n = 1 + rng_below(MAX_RULES);
		for (i = 0; i < m.n; i++)
			gen_rule(&m.r[i], i);
		write_policy(&m, text, sizeof(text));
		check_model(&m, text, &st);
	}
	/* The generator must have exercised every outcome. */
	assert_true(st.allow > 1000);
	assert_true(st.deny > 1000);
	assert_true(st.norule > 1000);
	assert_true(st.clearance > 100);
	assert_true(st.multi_allow > 100);
}

/* (b) A deny matching a case refuses it, whatever allows exist. */
static void
test_property_deny_flips(void **state)
{
	struct model		 m;
	struct mrule		*r;
	char			 text[16384], err[512];
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 pr;
	struct expect		 before;
	size_t			 i, at;
	unsigned		 role;
	int			 iter, kind, marking, publish, nallowed = 0;

	collect_fields();
	rng_state = (seed() ^ 0x9e3779b97f4a7c15ULL) | 1;
	for (iter = 0; iter < 2000; iter++) {
		m.n = 1 + rng_below(MAX_RULES);
		for (i = 0; i < m.n; i++)
			gen_rule(&m.r[i], i);
		/* Pick a case, preferably one the policy allows. */
		publish = rng_below(2);
		role = rng_below(NROLES);
		kind = 1 + rng_below(NKIND);
		marking = NWD__V1__MARKING__OFFICIAL;
		model_decide(&m, publish, role, kind, marking,
		    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &before);
		if (before.verdict == POLICY_ALLOW)
			nallowed++;
		/* Insert a deny for exactly that case anywhere. */
		at = rng_below((unsigned)m.n + 1);
		memmove(&m.r[at + 1], &m.r[at], (m.n - at) * sizeof(m.r[0]));
		m.n++;
		r = &m.r[at];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "zdeny");
		r->deny = 1;
		r->publish = publish;
		r->roles = 1u << role;
		r->kinds = 1u << kind;
		write_policy(&m, text, sizeof(text));
		p = policy_parse(text, strlen(text), "flip", err, sizeof(err));
		if (p == NULL)
			fail_msg("%s\n%s", err, text);
		pr = who(roles[role], NWD__V1__MARKING__OFFICIAL_SENSITIVE);
		assert_int_equal(decide(p, &pr, publish, kind, marking, &d),
		    POLICY_DENY);
		assert_int_equal(d.nstrip, 0);
		/* The reported rule is a deny that matches: ours or another. */
		for (i = 0; i < m.n; i++)
			if (strcmp(m.r[i].name, d.rules) == 0)
				break;
		assert_true(i < m.n);
		assert_true(m.r[i].deny);
		assert_true(mrule_matches(&m.r[i], publish, role, kind));
		policy_free(p);
	}
	assert_true(nallowed > 200);
}

/* (c) Two matching allows for one recipient: exactly the intersection. */
static void
test_property_two_allows(void **state)
{
	char			 text[4096], err[512];
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 pr = who("ra", NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	uint64_t		 a, b;
	size_t			 j;
	int			 iter, kind, n;
	const char		*sep;

	collect_fields();
	rng_state = (seed() ^ 0x5851f42d4c957f2dULL) | 1;
	for (iter = 0; iter < 3000; iter++) {
		kind = 1 + rng_below(NKIND);
		a = kind_fields[kind] & rng();
		b = kind_fields[kind] & rng();
		n = snprintf(text, sizeof(text), "allow deliver one: roles ra "
		    "kinds %s", kind_name(kind));
		for (j = 0, sep = " strip "; j < nfields; j++)
			if (a & (1ULL << j)) {
				n += snprintf(text + n, sizeof(text) - n,
				    "%s%s", sep, fields[j]);
				sep = ",";
			}
		n += snprintf(text + n, sizeof(text) - n, "\nallow deliver "
		    "two: roles rb, ra kinds %s, *", kind_name(kind));
		for (j = 0, sep = " strip "; j < nfields; j++)
			if (b & (1ULL << j)) {
				n += snprintf(text + n, sizeof(text) - n,
				    "%s%s", sep, fields[j]);
				sep = ",";
			}
		snprintf(text + n, sizeof(text) - n, "\n");
		p = policy_parse(text, strlen(text), "two", err, sizeof(err));
		if (p == NULL)
			fail_msg("%s\n%s", err, text);
		assert_int_equal(decide(p, &pr, 0, kind,
		    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
		assert_string_equal(d.rules, "one,two");
		if (strip_mask(&d) != (a & b))
			fail_msg("strip set is not the intersection:\n%s", text);
		policy_free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_scenario_reasons),
		cmocka_unit_test(test_no_camhs_to_police),
		cmocka_unit_test(test_clearance_caps_everyone),
		cmocka_unit_test(test_deploy_settings),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_minimal_policies),
		cmocka_unit_test(test_deny_order),
		cmocka_unit_test(test_publish_max),
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_bad_inline),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_star_in_role_list),
		cmocka_unit_test(test_strip_intersection_nested),
		cmocka_unit_test(test_property_model),
		cmocka_unit_test(test_property_deny_flips),
		cmocka_unit_test(test_property_two_allows),
	};

	return cmocka_run_group_tests(tests, load_deploy, free_deploy);
}
