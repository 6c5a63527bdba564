/*
 * cmd_policy: "nwd policy explain" and "nwd policy check".
 *
 * "nwd policy explain" answers "would this principal receive this message,
 * which fields, because of which rule" without publishing anything.
 * Offline it reads a policy file and a principal map and runs the daemon's
 * own engine (daemon/decide.c, compiled into this tool); online it asks the
 * broker, which answers auditors only with its live policy, principals and
 * allocations.  Both print the same table or JSON object.  The message is
 * built as "nwd push" builds it (compose.c).
 *
 * "nwd policy check FILE" checks a policy file, and a principal map
 * against it, as "nwdd --check-policy" does.
 *
 * The group and both subcommands share one option table and one help.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "compose.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"

/* The daemon's decision engine: the offline answer is the daemon's. */
#include "alloc.h"
#include "decide.h"
#include "identity.h"
#include "policy.h"

#define EXPLAIN_POLICY_MAX	(16 * 1024 * 1024)	/* as nwdd's */

struct policy_opts {
	struct connopts		 conn;		/* --online only */
	const char		*policy, *principals;	/* offline only */
	struct cli_strv		 allocate;	/* offline only */
	int			 online;
	const char		*from;
	struct cli_strv		 to;		/* split at commas */
	int64_t			 at_ms;		/* 0: now */
	int			 json;
	struct compose_msg	 msg;
};

/* A time in Unix milliseconds, after 1970. */
static int
parse_at(const char *s, void *field)
{
	char		*end;
	long long	 ll;

	errno = 0;
	ll = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || ll <= 0)
		return -1;
	*(int64_t *)field = ll;
	return 0;
}

static const struct args_opt policy_opts[] = {
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct policy_opts, conn) },
	{ .type = ARGS_TEXT, .help = "Offline (default), against files:\n" },
	{ .name = "policy", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct policy_opts, policy),
	  .help = "the sharing policy (required)" },
	{ .name = "principals", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct policy_opts, principals),
	  .help = "the principal map (required)" },
	{ .name = "allocate", .type = ARGS_LIST, .arg = "SUBJECT=TEAM[,TEAM]",
	  .off = offsetof(struct policy_opts, allocate),
	  .help = "who is allocated to SUBJECT (a team, or a principal\n"
	    "id for a worker); repeatable" },
	{ .type = ARGS_TEXT, .help = "\nOnline, against the broker's live "
	    "policy, principals and allocations (the\nauditor role only; the "
	    "broker audits the question):\n" },
	{ .name = "online", .type = ARGS_FLAG,
	  .off = offsetof(struct policy_opts, online),
	  .help = "ask the broker given by --server or $NWD_SERVER" },
	{ .type = ARGS_TEXT, .help = "\nOptions of both:\n" },
	{ .name = "from", .type = ARGS_STRING, .arg = "PRINCIPAL",
	  .off = offsetof(struct policy_opts, from),
	  .help = "the would-be sender (required)" },
	{ .name = "to", .type = ARGS_NAMES, .arg = "PRINCIPAL[,P]",
	  .off = offsetof(struct policy_opts, to),
	  .bad = "is not a comma-separated list of principals",
	  .help = "report only these principals; repeatable (the\n"
	    "recipient count is always the whole map's)" },
	{ .name = "at", .type = ARGS_VALUE, .arg = "UNIXMS",
	  .off = offsetof(struct policy_opts, at_ms), .convert = parse_at,
	  .bad = "is not a time in Unix milliseconds",
	  .help = "judge allocations at this time (default: now)" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct policy_opts, json),
	  .help = "print one JSON object instead of a table" },
	{ .type = ARGS_TEXT, .help = "  --subject, --nhs-number, --marking, "
	    "--priority, --basis, --justification,\n  --share-with, "
	    "--supersedes, --references   as for 'nwd push'\n" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = compose_opts,
	  .off = offsetof(struct policy_opts, msg) },
	{ .type = ARGS_END },
};

static int
offline_option(const char *name)
{
	return strcmp(name, "policy") == 0 ||
	    strcmp(name, "principals") == 0 || strcmp(name, "allocate") == 0;
}

static int
connect_option(const char *name)
{
	const struct args_opt *o;

	for (o = connopts_opts; o->type != ARGS_END; o++)
		if (strcmp(o->name, name) == 0)
			return 1;
	return 0;
}

/*
 * Refuses the first option given that the subcommand does not take: the
 * offline ones with --online, the connection ones without, and for "policy
 * check" all but --principals.  Returns -1 if there is none.
 */
static int
only_options(const struct args *a, int check)
{
	const struct policy_opts	*o = a->opts;
	const char			*name;
	size_t				 i = 0;

	while ((name = args_next_given(a, &i)) != NULL) {
		if (check ? strcmp(name, "principals") == 0 :
		    !(o->online ? offline_option(name) : connect_option(name)))
			continue;
		if (offline_option(name))
			return args_usage(a, a->name, "--%s is not used with "
			    "--online: the broker's own policy, principals and "
			    "allocations decide", name);
		if (connect_option(name))
			return args_usage(a, a->name, "--%s is used only with "
			    "--online, to ask the broker", name);
		return args_usage(a, a->name, "--%s is not an option of %s",
		    name, a->name);
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
		    "duty desk: no one else would receive it" : "");
	if (r->not_reachable > 0)
		printf("          %u more allowed but reached by nothing now "
		    "(no session, no durable subscription)\n",
		    r->not_reachable);
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
		if (strlen(decide_verdict_text(d->verdict, 0)) > wv)
			wv = strlen(decide_verdict_text(d->verdict, 0));
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
		    decide_verdict_text(d->verdict, 0), (int)wu,
		    d->rules[0] != '\0' ? d->rules : "-",
		    d->verdict == NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED &&
		    list[0] != '\0' ? list : "-");
		if (d->verdict != NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED &&
		    d->reason[0] != '\0')
			printf("%*s  because: %s\n", (int)wp, "", d->reason);
		if (d->route[0] != '\0')
			printf("%*s  reached: %s\n", (int)wp, "",
			    strcmp(d->route, "unreachable") == 0 ? "not now "
			    "(no session, no durable subscription)" : d->route);
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
	    "not_a_candidate" : decide_verdict_text(verdict, publish);
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
	/* Online only: how it would be reached now. */
	if (d->route[0] != '\0')
		json_object_object_add(o, "route",
		    json_object_new_string(d->route));
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
	json_object_object_add(o, "not_reachable",
	    json_object_new_int64(r->not_reachable));
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


/* ------------------------------------------------------------------------
 * nwd policy check
 */

static int
check_run(struct args *a)
{
	const struct policy_opts	*o = a->opts;
	struct policy			*p;
	struct identity_map		*ids;
	int				 code;

	if ((code = only_options(a, 1)) >= 0)
		return code;
	if (a->argc != 1)
		return args_usage(a, a->name, "give one policy FILE");
	if ((p = load_policy(a->argv[0])) == NULL)
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
	printf("%s: ok, %zu rules, version %s\n", a->argv[0],
	    policy_nrules(p), policy_version(p));
	policy_free(p);
	return fflush(stdout) == EOF ? CLI_EXIT_PROTOCOL : 0;
}

/* ------------------------------------------------------------------------
 * nwd policy explain, offline and online
 */

/* Fills t from --allocate SUBJECT=TEAM[,TEAM]; an exit status on error. */
static int
load_allocations(const struct args *a, struct alloc_table *t)
{
	const struct policy_opts	*o = a->opts;
	struct alloc_entry		 e;
	struct cli_strv			 teams;
	const char			*eq, *s;
	char				 subject[ENVELOPE_MAX_SUBJECT + 1];
	size_t				 i, k;
	int				 rc = -1;

	for (i = 0; i < o->allocate.n && rc == -1; i++) {
		s = o->allocate.v[i];
		memset(&teams, 0, sizeof(teams));
		if ((eq = strchr(s, '=')) == NULL || eq == s ||
		    (size_t)(eq - s) > ENVELOPE_MAX_SUBJECT ||
		    cli_strv_split(&teams, eq + 1) == -1) {
			cli_strv_clear(&teams, 1);
			return args_usage(a, "--allocate", "\"%s\" is not "
			    "SUBJECT=TEAM[,TEAM]", s);
		}
		memcpy(subject, s, eq - s);
		subject[eq - s] = '\0';
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
explain_offline(const struct args *a, const Nwd__V1__Envelope *env,
    struct view *v)
{
	const struct policy_opts *o = a->opts;
	struct decide_world	 w;
	struct policy		*p = NULL;
	struct identity_map	*ids = NULL;
	struct alloc_table	*t = NULL;
	Nwd__V1__ExplainResult	*r = NULL;
	enum decide_explain_status st;
	char			 err[512];
	int			 code = CLI_EXIT_USAGE;

	if (o->policy == NULL || o->principals == NULL)
		return args_usage(a, a->name, "offline it needs --policy FILE "
		    "and --principals FILE (or --online to ask the broker)");
	if ((p = load_policy(o->policy)) == NULL ||
	    (ids = load_principals(o->principals, p)) == NULL)
		goto out;
	if ((t = alloc_table_new()) == NULL) {
		cli_say(a->name, "out of memory");
		code = CLI_EXIT_PROTOCOL;
		goto out;
	}
	if ((code = load_allocations(a, t)) >= 0)
		goto out;
	memset(&w, 0, sizeof(w));
	w.policy = p;
	w.ids = ids;
	w.allocs = t;
	w.now_ms = o->at_ms != 0 ? o->at_ms : cli_wall_ms();
	if ((r = decide_explain(&w, o->from, env, o->to.v, o->to.n, &st, err,
	    sizeof(err))) == NULL) {
		cli_say(a->name, "%s", err);
		code = st == DECIDE_EXPLAIN_NOT_FOUND ? CLI_EXIT_USAGE :
		    CLI_EXIT_PROTOCOL;
		goto out;
	}
	v->source = "offline";
	v->policy_file = o->policy;
	code = print_result(r, v, o->json);
 out:
	decide_explain_free(r);
	alloc_table_free(t);
	identity_free(ids);
	policy_free(p);
	return code;
}

static int
explain_online(const struct args *a, const Nwd__V1__Envelope *env,
    struct view *v)
{
	const struct policy_opts *o = a->opts;
	struct nwd_client	*c;
	Nwd__V1__ExplainResult	*r = NULL;
	enum nwd_status		 st;
	char			 err[512];
	int			 code;

	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	st = nwd_explain(c, o->from, env, (const char *const *)o->to.v,
	    o->to.n, o->at_ms, &r, err, sizeof(err));
	if (st != NWD_OK) {
		cli_say(a->name, "%s", err);
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
explain_cmd_run(struct args *a)
{
	struct policy_opts	*o = a->opts;
	struct compose_error	 e;
	struct view		 v;
	Nwd__V1__Envelope	*env;
	int			 code;

	if ((code = only_options(a, 0)) >= 0)
		return code;
	if (a->argc < 1 || a->argc > 2)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_policy_explain.synopsis);
	if (o->from == NULL)
		return args_usage(a, a->name, "--from PRINCIPAL is required: "
		    "the explanation is of a publish by someone");
	o->msg.command = a->name;
	o->msg.kind = a->argv[0];
	o->msg.body_file = a->argc > 1 ? a->argv[1] : NULL;
	o->msg.body_optional = 1;
	if ((env = compose_envelope(&o->msg, &e)) == NULL) {
		if (e.usage)
			return args_usage(a, e.what, "%s", e.why);
		cli_say(e.what, "%s", e.why);
		if (o->msg.body_file == NULL)
			fprintf(stderr, "(no body was given: give BODY.json "
			    "with the fields a %s needs)\n", o->msg.kind);
		return CLI_EXIT_USAGE;
	}
	memset(&v, 0, sizeof(v));
	v.env = env;
	v.body_empty = o->msg.body_file == NULL;
	code = o->online ? explain_online(a, env, &v) :
	    explain_offline(a, env, &v);
	compose_free(env);
	return code;
}

/* ------------------------------------------------------------------------
 * nwd policy: no subcommand, or an unknown one
 */

static int
policy_run(struct args *a)
{
	char synopsis[512];

	if (a->argc > 0 && strcmp(a->argv[0], "help") == 0) {
		commands_help(stdout, &cmd_policy);
		return 0;
	}
	if (a->argc == 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    commands_synopsis(&cmd_policy, synopsis,
		    sizeof(synopsis)));
	return args_usage(a, a->name, "no subcommand \"%s\" (explain, check)",
	    a->argv[0]);
}

const struct cmd cmd_policy = {
    .name = "policy",
    .run = policy_run,
    .opts = policy_opts,
    .optsize = sizeof(struct policy_opts),
    .family = CMD_FAMILY_POLICY,
    .see = "nwd help policy",
    .help =
        "Answers \"would this principal receive this message, which "
        "fields, because of\nwhich rule\" without publishing anything: "
        "the publish decision for the sender,\nthen the deliver decision "
        "for every principal exactly as the broker makes it\n(and the duty "
        "pass if no one may receive the message), with the rules that\n"
        "decided, the reason, and the body fields withheld.  The message is "
        "built as\n'nwd push' builds it; BODY.json is optional (default: an "
        "empty body of KIND,\nwhen FIELDS WITHHELD lists what the policy "
        "withholds rather than what was\nremoved).\n\n",
    .more =
        "\nVerdicts: delivered; refused (a deny rule, an unmet "
        "condition or a built-in\nlimit: an audit row would say so); not a "
        "candidate (no rule names the role\nfor this kind: no row).\n\n"
        "'nwd policy check FILE' checks a policy file as 'nwdd "
        "--check-policy' does\n(and, with --principals, the principal map "
        "against it); it exits 1 if the\nfile has errors.\n\n"
        "Exit status: 0 once explained, whatever the verdicts; otherwise as "
        "for nwd.\n",
    .width = 22,
};

const struct cmd cmd_policy_explain = {
	.name = "policy explain",
	.run = explain_cmd_run,
	.opts = policy_opts,
	.optsize = sizeof(struct policy_opts),
	.family = CMD_FAMILY_POLICY,
	.see = "nwd help policy",
	.synopsis = "policy explain KIND --subject ID --from PRINCIPAL "
	    "[options] [BODY.json|-]",
};

const struct cmd cmd_policy_check = {
	.name = "policy check",
	.run = check_run,
	.opts = policy_opts,
	.optsize = sizeof(struct policy_opts),
	.family = CMD_FAMILY_POLICY,
	.see = "nwd help policy",
	.synopsis = "policy check FILE [--principals FILE]",
};
