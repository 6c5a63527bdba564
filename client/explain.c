/*
 * explain: "nwd policy explain" and "nwd policy check".  See explain.h for
 * the contracts.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "envelope.h"
#include "cli.h"
#include "compose.h"
#include "connopts.h"
#include "explain.h"
#include "nwd.h"
#include "pbjson.h"

/* The daemon's decision engine: the offline answer is the daemon's. */
#include "alloc.h"
#include "decide.h"
#include "identity.h"
#include "policy.h"
#include "redact.h"

#define EXPLAIN_POLICY_MAX	(16 * 1024 * 1024)	/* as nwdd's */

/* ------------------------------------------------------------------------
 * Dispatch from nwd
 */

int
explain_is_policy_command(int argc, char **argv,
    const struct option *long_options)
{
	const struct option	*lo;
	const char		*a;
	size_t			 n;
	int			 i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1 < argc &&
			    strcmp(argv[i + 1], "policy") == 0;
		if (a[0] != '-' || a[1] == '\0')
			return strcmp(a, "policy") == 0;
		if (a[1] != '-' || strchr(a, '=') != NULL)
			continue;
		n = strlen(a + 2);
		for (lo = long_options; lo->name != NULL; lo++)
			if (strlen(lo->name) == n &&
			    strncmp(lo->name, a + 2, n) == 0 &&
			    lo->has_arg == required_argument)
				i++;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * nwd policy: the command line
 */

const char explain_policy_synopsis[] =
    "policy explain KIND --subject ID --from PRINCIPAL [options] "
    "[BODY.json|-]\n"
    "  nwd policy check FILE [--principals FILE]";

const char explain_policy_help[] =
    "Answers \"would this principal receive this message, which fields, "
    "because of\nwhich rule\" without publishing anything: the publish "
    "decision for the sender,\nthen the deliver decision for every "
    "principal exactly as the broker makes it\n(and the duty pass if no "
    "one may receive the message), with the rules that\ndecided, the "
    "reason, and the body fields withheld.  The message is built as\n"
    "'nwd push' builds it; BODY.json is optional (default: an empty body "
    "of KIND,\nwhen FIELDS WITHHELD lists what the policy withholds rather "
    "than what was\nremoved).\n\n"
    "Offline (default), against files:\n"
    "  --policy FILE           the sharing policy (required)\n"
    "  --principals FILE       the principal map (required)\n"
    "  --allocate SUBJECT=TEAM[,TEAM]\n"
    "                          who is allocated to SUBJECT (a team, or a "
    "principal\n"
    "                          id for a worker); repeatable\n\n"
    "Online, against the broker's live policy, principals and allocations "
    "(the\nauditor role only; the broker audits the question):\n"
    "  --online                ask the broker given by --server or "
    "$NWD_SERVER\n\n"
    "Options of both:\n"
    "  --from PRINCIPAL        the would-be sender (required)\n"
    "  --to PRINCIPAL[,P]      report only these principals; repeatable "
    "(the\n"
    "                          recipient count is always the whole map's)\n"
    "  --at UNIXMS             judge allocations at this time (default: "
    "now)\n"
    "  --json                  print one JSON object instead of a table\n"
    "  --subject, --nhs-number, --marking, --priority, --basis, "
    "--justification,\n"
    "  --share-with, --supersedes   as for 'nwd push'\n\n"
    "Verdicts: delivered; refused (a deny rule, an unmet condition or a "
    "built-in\nlimit: an audit row would say so); not a candidate (no rule "
    "names the role\nfor this kind: no row).\n\n"
    "'nwd policy check FILE' checks a policy file as 'nwdd --check-policy' "
    "does\n(and, with --principals, the principal map against it); it "
    "exits 1 if the\nfile has errors.\n\n"
    "Exit status: 0 once explained, whatever the verdicts; otherwise as "
    "for nwd.\n";

enum popt {
	P_POLICY = CONNOPTS_END, P_PRINCIPALS, P_ALLOCATE, P_AT, P_SUBJECT,
	P_NHS, P_MARKING, P_PRIORITY, P_BASIS, P_JUSTIFICATION, P_SHARE_WITH,
	P_SUPERSEDES, P_FROM, P_TO, P_JSON, P_ONLINE,
};
#define PBIT(o)		(1ull << ((o) - CONNOPTS_SERVER))
#define P_CONNECT	((unsigned long long)CONNOPTS_MASK)
#define P_OFFLINE	(PBIT(P_POLICY) | PBIT(P_PRINCIPALS) | \
			    PBIT(P_ALLOCATE))

static const struct option policy_options[] = {
	CONNOPTS_OPTIONS,
	{ "help",		no_argument,	   NULL, 'h' },
	{ "policy",		required_argument, NULL, P_POLICY },
	{ "principals",		required_argument, NULL, P_PRINCIPALS },
	{ "allocate",		required_argument, NULL, P_ALLOCATE },
	{ "at",			required_argument, NULL, P_AT },
	{ "subject",		required_argument, NULL, P_SUBJECT },
	{ "nhs-number",		required_argument, NULL, P_NHS },
	{ "marking",		required_argument, NULL, P_MARKING },
	{ "priority",		required_argument, NULL, P_PRIORITY },
	{ "basis",		required_argument, NULL, P_BASIS },
	{ "justification",	required_argument, NULL, P_JUSTIFICATION },
	{ "share-with",		required_argument, NULL, P_SHARE_WITH },
	{ "supersedes",		required_argument, NULL, P_SUPERSEDES },
	{ "from",		required_argument, NULL, P_FROM },
	{ "to",			required_argument, NULL, P_TO },
	{ "json",		no_argument,	   NULL, P_JSON },
	{ "online",		no_argument,	   NULL, P_ONLINE },
	{ NULL, 0, NULL, 0 },
};

/* The policy command line.  Strings point into argv unless noted. */
struct popts {
	unsigned long long given;	/* PBIT() of each option seen */
	struct cli_strv	 args;		/* operands after "policy" */
	struct connopts	 conn;
	const char	*policy, *principals, *from;
	struct cli_strv	 allocate;
	struct cli_strv	 subjects;
	struct cli_strv	 share_with;	/* owned split copies */
	struct cli_strv	 to;		/* owned split copies */
	const char	*nhs, *marking, *priority, *basis, *justification;
	const char	*supersedes;
	int64_t		 at_ms;		/* 0: now */
	int		 json, online;
};

static int
usage_bad(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_bad(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'nwd help policy')\n");
	return CLI_EXIT_USAGE;
}

static void
popts_free(struct popts *o)
{
	cli_strv_clear(&o->share_with, 1);
	cli_strv_clear(&o->to, 1);
	cli_strv_clear(&o->args, 0);
	cli_strv_clear(&o->allocate, 0);
	cli_strv_clear(&o->subjects, 0);
}

static const char *
popt_name(int o)
{
	const struct option *lo;

	for (lo = policy_options; lo->name != NULL; lo++)
		if (lo->val == o)
			return lo->name;
	return "?";
}

static int
policy_help(void)
{
	printf("usage: nwd %s\n\n%s", explain_policy_synopsis,
	    explain_policy_help);
	fputs(connopts_help_pointer, stdout);
	return 0;
}

/*
 * Parses argv into o.  Returns -1 to go on, or an exit status (0 after
 * printing help).
 */
static int
policy_parse_args(int argc, char **argv, struct popts *o)
{
	struct connopts_error	 ce;
	char			*end;
	long long		 ll;
	int			 c, r, help = 0, seen_command = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "-:h", policy_options,
	    NULL)) != -1) {
		if (c >= CONNOPTS_SERVER)
			o->given |= PBIT(c);
		switch (c) {
		case 1:
			if (!seen_command && strcmp(optarg, "policy") == 0)
				seen_command = 1;
			else if (cli_strv_add(&o->args, optarg) == -1)
				goto nomem;
			break;
		case 'h':
			help = 1;
			break;
		case P_POLICY:
			o->policy = optarg;
			break;
		case P_PRINCIPALS:
			o->principals = optarg;
			break;
		case P_ALLOCATE:
			if (cli_strv_add(&o->allocate, optarg) == -1)
				goto nomem;
			break;
		case P_AT:
			errno = 0;
			ll = strtoll(optarg, &end, 10);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    ll <= 0)
				return usage_bad("--at", "\"%s\" is not a time "
				    "in Unix milliseconds", optarg);
			o->at_ms = ll;
			break;
		case P_SUBJECT:
			if (cli_strv_add(&o->subjects, optarg) == -1)
				goto nomem;
			break;
		case P_NHS:
			o->nhs = optarg;
			break;
		case P_MARKING:
			o->marking = optarg;
			break;
		case P_PRIORITY:
			o->priority = optarg;
			break;
		case P_BASIS:
			o->basis = optarg;
			break;
		case P_JUSTIFICATION:
			o->justification = optarg;
			break;
		case P_SUPERSEDES:
			o->supersedes = optarg;
			break;
		case P_SHARE_WITH:
			if (cli_strv_split(&o->share_with, optarg) == -1)
				return usage_bad("--share-with", "\"%s\" is "
				    "not a comma-separated list of names",
				    optarg);
			break;
		case P_TO:
			if (cli_strv_split(&o->to, optarg) == -1)
				return usage_bad("--to", "\"%s\" is not a "
				    "comma-separated list of principals",
				    optarg);
			break;
		case P_FROM:
			o->from = optarg;
			break;
		case P_JSON:
			o->json = 1;
			break;
		case P_ONLINE:
			o->online = 1;
			break;
		case ':':
			return usage_bad(argv[optind - 1], "needs a value");
		default:
			if ((r = connopts_parse(&o->conn, c, optarg,
			    &ce)) == 1)
				break;
			if (r == -1)
				return usage_bad(ce.what, "%s", ce.why);
			return usage_bad(argv[optind - 1] != NULL ?
			    argv[optind - 1] : "?", "unknown option");
		}
	}
	if (help || (o->args.n > 0 && strcmp(o->args.v[0], "help") == 0))
		return policy_help();
	if (o->args.n == 0)
		return usage_bad("policy", "usage: nwd %s",
		    explain_policy_synopsis);
	return -1;
 nomem:
	cli_say("arguments", "out of memory");
	return CLI_EXIT_PROTOCOL;
}

/* Refuses any option given outside allowed. */
static int
only_options(const struct popts *o, const char *cmd,
    unsigned long long allowed)
{
	unsigned long long	extra = o->given & ~allowed;
	int			p;

	for (p = CONNOPTS_SERVER; extra != 0; p++) {
		if (!(extra & PBIT(p)))
			continue;
		if (PBIT(p) & P_OFFLINE)
			return usage_bad(cmd, "--%s is not used with --online: "
			    "the broker's own policy, principals and "
			    "allocations decide", popt_name(p));
		if (PBIT(p) & P_CONNECT)
			return usage_bad(cmd, "--%s is used only with "
			    "--online, to ask the broker", popt_name(p));
		return usage_bad(cmd, "--%s is not an option of %s",
		    popt_name(p), cmd);
	}
	return -1;
}

/* ------------------------------------------------------------------------
 * Printing an explanation
 */

/* What the printers know besides the result. */
struct view {
	const Nwd__V1__Envelope	*env;
	const char		*source;	/* "offline" or "online" */
	const char		*policy_file;	/* offline only */
	int			 body_empty;
};

/* The withheld paths to show: with an empty body, what is configured. */
static void
shown_withheld(const Nwd__V1__ExplainDecision *d, const struct view *v,
    char *const **paths, size_t *n)
{
	if (v->body_empty) {
		*paths = d->fields_configured;
		*n = d->n_fields_configured;
	} else {
		*paths = d->fields_withheld;
		*n = d->n_fields_withheld;
	}
}

static void
at_text(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "?");
}

static int
print_text(const Nwd__V1__ExplainResult *r, const struct view *v)
{
	const Nwd__V1__Header		*h = v->env->header;
	const Nwd__V1__ExplainDecision	*d, *pub = r->publish;
	char				*const *paths;
	char				 list[4096], when[32];
	size_t				 i, n, wp = 9, wr = 4, wv = 7, wu = 5;
	int				 duty_seen = 0;

	at_text(r->at_unix_ms, when, sizeof(when));
	printf("policy    %s (%s)\n", r->policy_version,
	    v->policy_file != NULL ? v->policy_file : "the broker's, online");
	printf("message   %s on %s, %s, from %s (%s)\n",
	    envelope_kind_name(h->kind), h->subject->local_id,
	    cli_marking(h->marking), r->sender, r->agency);
	printf("at        %s (%" PRId64 ")\n", when, r->at_unix_ms);
	if (pub != NULL && pub->verdict ==
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED)
		printf("publish   allowed by %s\n", pub->rules);
	else if (pub != NULL)
		printf("publish   refused%s%s%s: %s\n",
		    pub->rules[0] != '\0' ? " (" : "", pub->rules,
		    pub->rules[0] != '\0' ? ")" : "", pub->reason);
	if (r->recipients == 0)
		printf("outcome   nothing would be shared\n");
	else
		printf("outcome   %u recipient%s%s\n", r->recipients,
		    r->recipients == 1 ? "" : "s", r->duty_desk ? ", at the "
		    "duty desk: no one else may receive it" : "");
	if (v->body_empty)
		printf("note      no body was given, so nothing could be "
		    "removed: FIELDS WITHHELD\n          lists what the policy "
		    "withholds from this kind for each recipient\n");
	if (r->n_decisions == 0) {
		printf("\nno deliver decisions: the publish is refused\n");
		return fflush(stdout) == EOF ? -1 : 0;
	}
	for (i = 0; i < r->n_decisions; i++) {
		d = r->decisions[i];
		if (strlen(d->principal) > wp)
			wp = strlen(d->principal);
		if (strlen(d->role) > wr)
			wr = strlen(d->role);
		if (strlen(explain_verdict_text(d->verdict, 0)) > wv)
			wv = strlen(explain_verdict_text(d->verdict, 0));
		if (strlen(d->rules) > wu)
			wu = strlen(d->rules);
	}
	printf("\n%-*s  %-*s  %-*s  %-*s  %s\n", (int)wp, "PRINCIPAL",
	    (int)wr, "ROLE", (int)wv, "VERDICT", (int)wu, "RULES",
	    "FIELDS WITHHELD");
	for (i = 0; i < r->n_decisions; i++) {
		d = r->decisions[i];
		if (d->duty_pass && !duty_seen) {
			duty_seen = 1;
			printf("-- the duty pass: no one above may receive "
			    "it --\n");
		}
		shown_withheld(d, v, &paths, &n);
		cli_join(list, sizeof(list), paths, n, ",");
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)wp, d->principal,
		    (int)wr, d->role, (int)wv,
		    explain_verdict_text(d->verdict, 0), (int)wu,
		    d->rules[0] != '\0' ? d->rules : "-",
		    d->verdict == NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED &&
		    list[0] != '\0' ? list : "-");
		if (d->verdict != NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED &&
		    d->reason[0] != '\0')
			printf("%*s  because: %s\n", (int)wp, "", d->reason);
		if (!v->body_empty && d->n_fields_configured > 0) {
			cli_join(list, sizeof(list), d->fields_configured,
			    d->n_fields_configured, ",");
			printf("%*s  the rules withhold: %s\n", (int)wp, "",
			    list);
		}
	}
	return fflush(stdout) == EOF ? -1 : 0;
}

static const char *
verdict_word(Nwd__V1__ExplainVerdict verdict, int publish)
{
	return verdict == NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE ?
	    "not_a_candidate" : explain_verdict_text(verdict, publish);
}

static json_object *
decision_json(const Nwd__V1__ExplainDecision *d, const struct view *v,
    int publish)
{
	json_object	*o = json_object_new_object();
	char *const	*paths;
	size_t		 n;

	json_object_object_add(o, "principal",
	    json_object_new_string(d->principal));
	json_object_object_add(o, "role", json_object_new_string(d->role));
	json_object_object_add(o, "verdict",
	    json_object_new_string(verdict_word(d->verdict, publish)));
	json_object_object_add(o, "rules", json_object_new_string(d->rules));
	json_object_object_add(o, "reason", json_object_new_string(d->reason));
	if (publish)
		return o;
	shown_withheld(d, v, &paths, &n);
	json_object_object_add(o, "fields_withheld",
	    cli_json_strings(paths, n));
	json_object_object_add(o, "fields_configured",
	    cli_json_strings(d->fields_configured, d->n_fields_configured));
	json_object_object_add(o, "fields_shared",
	    cli_json_strings(d->fields_shared, d->n_fields_shared));
	json_object_object_add(o, "duty_pass",
	    json_object_new_boolean(d->duty_pass));
	return o;
}

static int
print_json(const Nwd__V1__ExplainResult *r, const struct view *v)
{
	const Nwd__V1__Header	*h = v->env->header;
	json_object		*o, *m, *a;
	size_t			 i;
	int			 rc;

	o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string(v->source));
	if (v->policy_file != NULL)
		json_object_object_add(o, "policy",
		    json_object_new_string(v->policy_file));
	json_object_object_add(o, "policy_version",
	    json_object_new_string(r->policy_version));
	json_object_object_add(o, "at_unix_ms",
	    json_object_new_int64(r->at_unix_ms));
	m = json_object_new_object();
	json_object_object_add(
	    m, "kind", json_object_new_string(envelope_kind_name(h->kind)));
	json_object_object_add(m, "subject",
	    json_object_new_string(h->subject->local_id));
	json_object_object_add(m, "marking",
	    json_object_new_string(cli_marking(h->marking)));
	json_object_object_add(m, "sender", json_object_new_string(r->sender));
	json_object_object_add(m, "agency", json_object_new_string(r->agency));
	json_object_object_add(m, "body",
	    json_object_new_string(v->body_empty ? "empty" : "given"));
	json_object_object_add(o, "message", m);
	if (r->publish != NULL)
		json_object_object_add(o, "publish",
		    decision_json(r->publish, v, 1));
	json_object_object_add(o, "recipients",
	    json_object_new_int64(r->recipients));
	json_object_object_add(o, "duty_desk",
	    json_object_new_boolean(r->duty_desk));
	a = json_object_new_array();
	for (i = 0; i < r->n_decisions; i++)
		json_object_array_add(a, decision_json(r->decisions[i], v, 0));
	json_object_object_add(o, "decisions", a);
	if (v->body_empty)
		json_object_object_add(o, "note", json_object_new_string(
		    "no body was given, so nothing could be removed: "
		    "fields_withheld lists what the policy withholds from this "
		    "kind for each recipient"));
	rc = cli_print_json(o);
	json_object_put(o);
	return rc;
}

static int
print_result(const Nwd__V1__ExplainResult *r, const struct view *v,
    int json)
{
	if ((json ? print_json(r, v) : print_text(r, v)) == -1)
		return CLI_EXIT_PROTOCOL;
	return 0;
}

/* ------------------------------------------------------------------------
 * nwd policy explain, offline and online; nwd policy check
 */

/* Reads and parses a policy file; NULL after saying why. */
static struct policy *
load_policy(const char *path)
{
	struct policy	*p;
	FILE		*fp;
	char		*text, err[512];
	size_t		 len;

	if ((fp = fopen(path, "r")) == NULL) {
		cli_say(path, "%s", strerror(errno));
		return NULL;
	}
	if ((text = malloc(EXPLAIN_POLICY_MAX + 1)) == NULL) {
		fclose(fp);
		cli_say(path, "out of memory");
		return NULL;
	}
	len = fread(text, 1, EXPLAIN_POLICY_MAX + 1, fp);
	if (ferror(fp) || len > EXPLAIN_POLICY_MAX) {
		cli_say(path, "%s", ferror(fp) ? strerror(errno) :
		    "file is too large");
		free(text);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	text[len] = '\0';
	p = policy_parse(text, len, path, err, sizeof(err));
	free(text);
	if (p == NULL)
		fprintf(stderr, "nwd: %s\n", err);
	return p;
}

static struct identity_map *
load_principals(const char *path, const struct policy *p)
{
	struct identity_map	*ids;
	char			 err[512];

	if ((ids = identity_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwd: %s\n", err);
		return NULL;
	}
	if (policy_check_principals(p, ids, err, sizeof(err)) == -1) {
		fprintf(stderr, "nwd: %s: %s\n", path, err);
		identity_free(ids);
		return NULL;
	}
	return ids;
}

static int
policy_check(struct popts *o)
{
	struct policy		*p;
	struct identity_map	*ids;
	int			 code;

	if ((code = only_options(o, "policy check",
	    PBIT(P_PRINCIPALS))) >= 0)
		return code;
	if (o->args.n != 2)
		return usage_bad("policy check", "give one policy FILE");
	if ((p = load_policy(o->args.v[1])) == NULL)
		return CLI_EXIT_REFUSED;
	if (o->principals != NULL) {
		if ((ids = load_principals(o->principals, p)) == NULL) {
			policy_free(p);
			return CLI_EXIT_REFUSED;
		}
		printf("%s: ok, %zu principals\n", o->principals,
		    identity_count(ids));
		identity_free(ids);
	}
	printf("%s: ok, %zu rules, version %s\n", o->args.v[1],
	    policy_nrules(p), policy_version(p));
	policy_free(p);
	return fflush(stdout) == EOF ? CLI_EXIT_PROTOCOL : 0;
}

/* Fills t from --allocate SUBJECT=TEAM[,TEAM]; an exit status on error. */
static int
load_allocations(const struct popts *o, struct alloc_table *t)
{
	struct alloc_entry	 e;
	struct cli_strv		 teams;
	const char		*eq, *a;
	char			 subject[ENVELOPE_MAX_SUBJECT + 1];
	size_t			 i, k;
	int			 rc = -1;

	for (i = 0; i < o->allocate.n && rc == -1; i++) {
		a = o->allocate.v[i];
		memset(&teams, 0, sizeof(teams));
		if ((eq = strchr(a, '=')) == NULL || eq == a ||
		    (size_t)(eq - a) > ENVELOPE_MAX_SUBJECT ||
		    cli_strv_split(&teams, eq + 1) == -1) {
			cli_strv_clear(&teams, 1);
			return usage_bad("--allocate", "\"%s\" is not "
			    "SUBJECT=TEAM[,TEAM]", a);
		}
		memcpy(subject, a, eq - a);
		subject[eq - a] = '\0';
		for (k = 0; k < teams.n; k++) {
			memset(&e, 0, sizeof(e));
			e.subject = subject;
			e.team = teams.v[k];
			e.worker = "";
			if (alloc_table_put(t, &e) == -1) {
				cli_say("--allocate", "out of memory");
				rc = CLI_EXIT_PROTOCOL;
				break;
			}
		}
		cli_strv_clear(&teams, 1);
	}
	return rc;
}

static int
explain_offline(struct popts *o, const Nwd__V1__Envelope *env,
    struct view *v)
{
	struct explain_world	 w;
	struct policy		*p = NULL;
	struct identity_map	*ids = NULL;
	struct alloc_table	*t = NULL;
	Nwd__V1__ExplainResult	*r = NULL;
	enum explain_status	 st;
	char			 err[512];
	int			 code = CLI_EXIT_USAGE;

	if (o->policy == NULL || o->principals == NULL)
		return usage_bad("policy explain", "offline it needs --policy "
		    "FILE and --principals FILE (or --online to ask the "
		    "broker)");
	if ((p = load_policy(o->policy)) == NULL ||
	    (ids = load_principals(o->principals, p)) == NULL)
		goto out;
	if ((t = alloc_table_new()) == NULL) {
		cli_say("policy explain", "out of memory");
		code = CLI_EXIT_PROTOCOL;
		goto out;
	}
	if ((code = load_allocations(o, t)) >= 0)
		goto out;
	memset(&w, 0, sizeof(w));
	w.policy = p;
	w.ids = ids;
	w.allocs = t;
	w.now_ms = o->at_ms != 0 ? o->at_ms : cli_wall_ms();
	if ((r = explain_run(&w, o->from, env, o->to.v, o->to.n, &st, err,
	    sizeof(err))) == NULL) {
		cli_say("policy explain", "%s", err);
		code = st == EXPLAIN_NOT_FOUND ? CLI_EXIT_USAGE :
		    CLI_EXIT_PROTOCOL;
		goto out;
	}
	v->source = "offline";
	v->policy_file = o->policy;
	code = print_result(r, v, o->json);
 out:
	explain_result_free(r);
	alloc_table_free(t);
	identity_free(ids);
	policy_free(p);
	return code;
}

static int
explain_online(struct popts *o, const Nwd__V1__Envelope *env,
    struct view *v)
{
	struct nwd_opts		 no;
	struct connopts_error	 ce;
	struct nwd_client	*c;
	Nwd__V1__ExplainResult	*r = NULL;
	enum nwd_status		 st;
	char			 err[512];
	int			 code;

	if (connopts_to_nwd_opts(&o->conn, "policy explain", &no, &ce) == -1)
		return usage_bad(ce.what, "%s", ce.why);
	if ((c = cli_connect(&no, &code)) == NULL)
		return code;
	st = nwd_explain(c, o->from, env, (const char *const *)o->to.v,
	    o->to.n, o->at_ms, &r, err, sizeof(err));
	if (st != NWD_OK) {
		cli_say("policy explain", "%s", err);
		code = cli_exit_status(c, st);
	} else {
		v->source = "online";
		code = print_result(r, v, o->json);
	}
	nwd_explain_result_free(r);
	nwd_close(c);
	return code;
}

static int
policy_explain(struct popts *o)
{
	struct compose_msg	 m;
	struct compose_error	 e;
	struct view		 v;
	Nwd__V1__Envelope	*env;
	int			 code;

	if ((code = only_options(o, "policy explain", ~(o->online ?
	    P_OFFLINE : P_CONNECT))) >= 0)
		return code;
	if (o->args.n < 2 || o->args.n > 3)
		return usage_bad("policy explain", "usage: nwd policy explain "
		    "KIND --subject ID --from PRINCIPAL [options] "
		    "[BODY.json|-]");
	if (o->from == NULL)
		return usage_bad("policy explain", "--from PRINCIPAL is "
		    "required: the explanation is of a publish by someone");
	memset(&m, 0, sizeof(m));
	m.command = "policy explain";
	m.kind = o->args.v[1];
	m.subjects = o->subjects;
	m.nhs = o->nhs;
	m.marking = o->marking;
	m.priority = o->priority;
	m.basis = o->basis;
	m.justification = o->justification;
	m.supersedes = o->supersedes;
	m.share_with = o->share_with;
	m.body_file = o->args.n > 2 ? o->args.v[2] : NULL;
	m.body_optional = 1;
	if ((env = compose_envelope(&m, &e)) == NULL) {
		if (e.usage)
			return usage_bad(e.what, "%s", e.why);
		cli_say(e.what, "%s", e.why);
		if (m.body_file == NULL)
			fprintf(stderr, "(no body was given: give BODY.json "
			    "with the fields a %s needs)\n", m.kind);
		return CLI_EXIT_USAGE;
	}
	memset(&v, 0, sizeof(v));
	v.env = env;
	v.body_empty = m.body_file == NULL;
	code = o->online ? explain_online(o, env, &v) :
	    explain_offline(o, env, &v);
	compose_free(env);
	return code;
}

int
explain_policy_main(int argc, char **argv)
{
	struct popts	o;
	int		code;

	memset(&o, 0, sizeof(o));
	connopts_init(&o.conn);
	if ((code = policy_parse_args(argc, argv, &o)) >= 0) {
		popts_free(&o);
		return code;
	}
	if (strcmp(o.args.v[0], "explain") == 0)
		code = policy_explain(&o);
	else if (strcmp(o.args.v[0], "check") == 0)
		code = policy_check(&o);
	else
		code = usage_bad("policy", "no subcommand \"%s\" (explain, "
		    "check)", o.args.v[0]);
	popts_free(&o);
	return code;
}
