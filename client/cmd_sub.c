/*
 * cmd_sub: "nwd sub", a subscription: each delivery printed as one JSON
 * line on stdout, then acknowledged (the broker's Acked awaited), for ever
 * unless --count or --idle-exit says otherwise.
 *
 * The session is kept alive by libnwd's keepalive Pings while it waits.
 * When the session ends, its true reason (the broker's Goodbye, the Error
 * that closed it, or a dropped connection) goes to stderr; with
 * --reconnect (the default with --durable) the tool connects again with a
 * capped, jittered exponential backoff and subscribes again with the same
 * filters and durable name, one stderr line per attempt, until a refusal
 * that will not change stops it.  A durable subscription's replay makes
 * that lossless; a message printed but not yet acknowledged when the
 * session was lost is printed again.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"
#include "pbjson.h"
#include "schema.h"
#include "subfmt.h"

#define SUB_BACKOFF_FIRST_MS	1000	/* the first reconnect's delay */
#define SUB_BACKOFF_MAX_MS	30000	/* the delay doubles up to this */

struct sub {
	struct cli_strv	 kinds;
	struct cli_strv	 subjects;
	const char	*durable;
	long		 count;		/* 0: for ever */
	int		 idle_ms;	/* --idle-exit; 0: never */
	int		 keepalive_ms;	/* --keepalive; 0: libnwd's default,
					   -1: none */
	int		 no_ack;
	int		 reconnect;
	int		 no_reconnect;
	int		 replace;
	int		 pretty;
	const char	*format;
	struct connopts	 conn;
};

/* A number of deliveries, 0 or more. */
static int
parse_count(const char *s, void *field)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || n < 0)
		return -1;
	*(long *)field = n;
	return 0;
}

/* SECONDS, a decimal >= 0 (> 0 unless zero_ok), into milliseconds. */
static int
seconds_ms(const char *s, int zero_ok, int *ms)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !(d >= 0) ||
	    (d == 0 && !zero_ok) || d * 1000 > INT_MAX)
		return -1;
	*ms = d > 0 && d * 1000 < 1 ? 1 : (int)(d * 1000);
	return 0;
}

static int
parse_idle(const char *s, void *field)
{
	return seconds_ms(s, 0, field);
}

/* 0 turns the keepalive off (-1 for libnwd). */
static int
parse_keepalive(const char *s, void *field)
{
	int *ms = field;

	if (seconds_ms(s, 1, ms) == -1)
		return -1;
	if (*ms == 0)
		*ms = -1;
	return 0;
}

static const struct args_opt sub_opts[] = {
	{ .name = "kind", .type = ARGS_LIST, .arg = "K",
	  .off = offsetof(struct sub, kinds),
	  .help = "only this kind; repeatable (default: every kind)" },
	{ .name = "subject", .type = ARGS_LIST, .arg = "ID",
	  .off = offsetof(struct sub, subjects),
	  .help = "only this subject; repeatable (default: every one)" },
	{ .name = "durable", .type = ARGS_STRING, .arg = "NAME",
	  .off = offsetof(struct sub, durable),
	  .help = "a durable subscription: missed messages come on\n"
	    "reconnect, unacknowledged ones again" },
	{ .name = "replace", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, replace),
	  .help = "with --durable: if NAME exists with other kinds or\n"
	    "subjects, replace them (what is queued stays queued)" },
	{ .name = "count", .type = ARGS_VALUE, .arg = "N",
	  .off = offsetof(struct sub, count), .convert = parse_count,
	  .bad = "is not a number of deliveries",
	  .help = "exit 0 after N deliveries (0 = never)" },
	{ .name = "idle-exit", .type = ARGS_VALUE, .arg = "SECONDS",
	  .off = offsetof(struct sub, idle_ms), .convert = parse_idle,
	  .bad = "is not a positive number of seconds",
	  .help = "exit 6 after SECONDS without a delivery\n"
	    "(default: wait for ever)" },
	{ .name = "reconnect", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, reconnect),
	  .help = "when the session is lost, connect and subscribe\n"
	    "again (the default with --durable)" },
	{ .name = "no-reconnect", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, no_reconnect),
	  .help = "exit when the session is lost" },
	{ .name = "keepalive", .type = ARGS_VALUE, .arg = "SECONDS",
	  .off = offsetof(struct sub, keepalive_ms),
	  .convert = parse_keepalive,
	  .bad = "is not a number of seconds",
	  .help = "ping the broker after SECONDS without sending\n"
	    "(default 60; 0: never)" },
	{ .name = "no-ack", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, no_ack),
	  .help = "do not acknowledge deliveries" },
	{ .name = "pretty", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, pretty),
	  .help = "each delivery on several lines, for a person;\n"
	    "coloured on a terminal (not with NO_COLOR set)" },
	{ .name = "format", .type = ARGS_STRING, .arg = "TEMPLATE",
	  .off = offsetof(struct sub, format),
	  .help = "one line per delivery of the fields TEMPLATE\n"
	    "names: %{kind} %{subject} %{body.level} (below)" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct sub, conn) },
	{ .type = ARGS_END },
};

/* One delivery as the JSON line that "nwd sub" prints. */
static json_object *
delivery_json(const Nwd__V1__Deliver *d)
{
	const Nwd__V1__Envelope	*e = d->envelope;
	const Nwd__V1__Header	*h = e != NULL ? e->header : NULL;
	const ProtobufCMessage	*body = e != NULL ? envelope_body(e) : NULL;
	json_object		*o, *withheld, *b;
	const char		*kn;
	char			 words[4096];

	o = json_object_new_object();
	json_object_object_add(o, "delivery_id",
	    json_object_new_uint64(d->delivery_id));
	cli_json_string(o, "message_id", h != NULL ? h->message_id : NULL);
	cli_json_string(o, "sender", h != NULL ? h->sender : NULL);
	cli_json_string(o, "agency", h != NULL ? h->originating_agency : NULL);
	if (h != NULL && (kn = envelope_kind_name(h->kind)) != NULL)
		cli_json_string(o, "kind", kn);
	else
		json_object_object_add(o, "kind", h != NULL ?
		    json_object_new_int(h->kind) : NULL);
	cli_json_string(o, "subject", h != NULL && h->subject != NULL ?
	    h->subject->local_id : NULL);
	if (h != NULL && h->subject != NULL &&
	    h->subject->nhs_number[0] != '\0')
		cli_json_string(o, "nhs_number", h->subject->nhs_number);
	cli_json_string(o, "marking", h != NULL ? cli_marking(h->marking) :
	    NULL);
	cli_json_string(o, "priority", h != NULL ? cli_priority(h->priority) :
	    NULL);
	if (h != NULL && h->legal_basis !=
	    NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED)
		cli_json_string(o, "legal_basis",
		    envelope_legal_basis_name(h->legal_basis));
	if (h != NULL && h->justification[0] != '\0')
		cli_json_string(o, "justification", h->justification);
	if (h != NULL && h->supersedes[0] != '\0')
		cli_json_string(o, "supersedes", h->supersedes);
	if (h != NULL && h->references[0] != '\0')
		cli_json_string(o, "references", h->references);
	json_object_object_add(o, "created_unix_ms",
	    json_object_new_int64(h != NULL ? h->created_unix_ms : 0));
	withheld = cli_json_strings(d->fields_withheld, d->n_fields_withheld);
	json_object_object_add(o, "fields_withheld", withheld);
	cli_json_string(o, "rule", d->rule);
	cli_json_string(o, "policy_version", d->policy_version);
	b = body != NULL ? pbjson_to_object(body, 0) : json_object_new_object();
	json_object_object_add(o, "body", b);
	/* A decision not to share, in words, besides its fields. */
	if (h != NULL && h->kind == NWD__V1__KIND__SHARING_DECISION &&
	    e->sharing_decision != NULL)
		cli_json_string(o, "decision", cli_sharing_decision_words(
		    e->sharing_decision, words, sizeof(words)));
	return o;
}

/* ------------------------------------------------------------------------
 * One run of the command, across sessions
 */

struct run {
	const struct sub	*o;
	struct subfmt		*fmt;		/* owned: --format, or NULL */
	int			 colour;	/* --pretty in colour */
	Nwd__V1__Kind		*kinds;		/* owned */
	struct nwd_opts		 no;		/* strings: argv's, env's */
	struct nwd_client	*c;		/* owned; NULL between sessions */
	int			 reconnect;
	long			 n;		/* deliveries printed */
	unsigned int		 seed;		/* the backoff's jitter */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The delay before reconnect attempt n (1, 2, ...): 1 s doubling up to
 * 30 s, each drawn between half and all of that, so that many subscribers
 * cut off at once do not come back at once.
 */
static int64_t
backoff_ms(struct run *r, int n)
{
	int64_t	cap = SUB_BACKOFF_FIRST_MS;
	double	u;

	while (--n > 0 && cap < SUB_BACKOFF_MAX_MS)
		cap *= 2;
	if (cap > SUB_BACKOFF_MAX_MS)
		cap = SUB_BACKOFF_MAX_MS;
	u = (double)rand_r(&r->seed) / RAND_MAX;
	return cap / 2 + (int64_t)(u * (double)(cap / 2));
}

/*
 * 1 if a failure with st may mend by itself, so that connecting again is
 * worth it: the broker away, stopping or busy, the connection lost, its
 * store down.  A refusal (our certificate, the policy, a limit on durable
 * subscriptions, other filters for the durable name), an invalid request,
 * a broken protocol and a local failure will not change: 0.  At connect
 * (c NULL), a principal's session limit may free up when its old session
 * is reaped: 1.
 */
static int
mendable(struct nwd_client *c, enum nwd_status st, const char *err)
{
	switch (st) {
	case NWD_ERR_UNREACHABLE:
	case NWD_ERR_TIMEOUT:
	case NWD_ERR_UNAVAILABLE:
	case NWD_ERR_CLOSED:
		return 1;
	case NWD_ERR_REFUSED:
		return c == NULL && strstr(err, "ERROR_LIMIT: ") != NULL &&
		    strstr(err, "max_connections_per_principal") != NULL;
	default:
		return 0;
	}
}

static enum nwd_status
subscribe(struct run *r, uint64_t *id, char *err, size_t errlen)
{
	const struct sub *o = r->o;

	if (o->durable != NULL)
		return nwd_subscribe_durable(r->c, r->kinds, o->kinds.n,
		    (const char *const *)o->subjects.v, o->subjects.n,
		    o->durable, o->replace, id, err, errlen);
	return nwd_subscribe(r->c, r->kinds, o->kinds.n,
	    (const char *const *)o->subjects.v, o->subjects.n, NULL, id,
	    err, errlen);
}

/*
 * Prints and acknowledges deliveries until --count is reached (0), a
 * delivery does not come within --idle-exit (CLI_EXIT_TIMEOUT), stdout
 * fails, or the session fails: then -1 with its status in *st and the
 * reason in err, for the caller to say and judge.
 */
static int
deliveries(struct run *r, enum nwd_status *st, char *err, size_t errlen,
    const char **what)
{
	const struct sub	*o = r->o;
	Nwd__V1__Deliver	*d;
	json_object		*j;
	int64_t			 idle_at = -1, left;
	int			 rc;

	if (o->idle_ms > 0)
		idle_at = mono_ms() + o->idle_ms;
	while (o->count == 0 || r->n < o->count) {
		left = -1;
		if (idle_at >= 0 && (left = idle_at - mono_ms()) < 0)
			left = 0;
		*what = "sub";
		*st = nwd_next_delivery(r->c, (int)left, &d, err, errlen);
		if (*st == NWD_ERR_TIMEOUT && idle_at >= 0 &&
		    mono_ms() >= idle_at) {
			cli_say("sub", "no delivery in %g second%s",
			    o->idle_ms / 1000.0, o->idle_ms == 1000 ? "" : "s");
			return CLI_EXIT_TIMEOUT;
		}
		if (*st != NWD_OK)
			return -1;
		j = delivery_json(d);
		if (r->fmt != NULL || o->pretty) {
			if (r->fmt != NULL)
				subfmt_print(stdout, r->fmt, j);
			else
				subfmt_pretty(stdout, j, r->colour);
			rc = cli_flush();
		} else
			rc = cli_print_json(j);
		json_object_put(j);
		if (rc == 0 && !o->no_ack) {
			*what = "ack";
			*st = nwd_ack(r->c, d->delivery_id, d->envelope !=
			    NULL && d->envelope->header != NULL ?
			    d->envelope->header->message_id : "", err, errlen);
		}
		nwd_deliver_free(d);
		if (rc == -1)
			return CLI_EXIT_PROTOCOL;
		if (*st != NWD_OK)
			return -1;
		r->n++;
		if (idle_at >= 0)
			idle_at = mono_ms() + o->idle_ms;
	}
	return 0;
}

/*
 * Connects and subscribes again, after the session ended with why, until
 * it works (-1) or fails in a way that will not mend (its exit status).
 * Says one line per attempt.
 */
static int
reconnect(struct run *r, const char *why)
{
	enum nwd_status	 st;
	uint64_t	 id;
	int64_t		 delay;
	char		 err[512];
	int		 n;

	for (n = 1;; n++) {
		delay = backoff_ms(r, n);
		if (n == 1)
			cli_say("sub", "%s; reconnecting", why);
		sleep_ms(delay);
		if ((r->c = nwd_connect(&r->no, &st, err,
		    sizeof(err))) == NULL) {
			cli_say("sub", "reconnect attempt %d after %.1f s: %s",
			    n, delay / 1000.0, err);
			if (!mendable(NULL, st, err))
				return st == NWD_ERR_REFUSED ?
				    CLI_EXIT_UNREACHABLE :
				    cli_exit_status(NULL, st);
			continue;
		}
		if ((st = subscribe(r, &id, err, sizeof(err))) == NWD_OK) {
			cli_say("sub", "reconnect attempt %d after %.1f s: "
			    "subscribed id=%" PRIu64, n, delay / 1000.0, id);
			return -1;
		}
		cli_say("sub", "reconnect attempt %d after %.1f s: subscribe: "
		    "%s", n, delay / 1000.0, err);
		if (!mendable(r->c, st, err)) {
			n = cli_exit_status(r->c, st);
			nwd_close(r->c);
			r->c = NULL;
			return n;
		}
		nwd_close(r->c);
		r->c = NULL;
	}
}

static int
sub_run(struct args *a)
{
	const struct sub	*o = a->opts;
	struct connopts		 co = o->conn;
	struct run		 r;
	enum nwd_status		 st;
	const char		*what;
	uint64_t		 sub_id;
	char			 err[512];
	size_t			 i;
	int			 code;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_sub.synopsis);
	if (o->reconnect && o->no_reconnect)
		return args_usage(a, "--reconnect", "and --no-reconnect "
		    "contradict each other");
	if (o->replace && o->durable == NULL)
		return args_usage(a, "--replace", "replaces the filters of a "
		    "durable subscription: give --durable NAME");
	if (o->pretty && o->format != NULL)
		return args_usage(a, "--pretty", "and --format are two ways "
		    "to print: give one");
	/* The broker matches subjects exactly: a filter with a wildcard
	 * would match nothing, silently. */
	for (i = 0; i < o->subjects.n; i++)
		if (strpbrk(o->subjects.v[i], "*?") != NULL)
			return args_usage(a, "--subject", "\"%s\": wildcards "
			    "are not supported in subject filters (give each "
			    "subject, or none for every one)",
			    o->subjects.v[i]);
	memset(&r, 0, sizeof(r));
	r.o = o;
	if (o->format != NULL && (r.fmt = subfmt_compile(o->format, err,
	    sizeof(err))) == NULL)
		return args_usage(a, "--format", "%s", err);
	r.colour = o->pretty && subfmt_want_colour(STDOUT_FILENO);
	r.reconnect = o->reconnect || (o->durable != NULL && !o->no_reconnect);
	r.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	if (o->kinds.n > 0 &&
	    (r.kinds = calloc(o->kinds.n, sizeof(*r.kinds))) == NULL) {
		subfmt_free(r.fmt);
		cli_say("sub", "out of memory");
		return CLI_EXIT_PROTOCOL;
	}
	for (i = 0; i < o->kinds.n; i++) {
		if (schema_kind_from_name(o->kinds.v[i], &r.kinds[i]) == -1) {
			free(r.kinds);
			subfmt_free(r.fmt);
			return args_usage(a, "--kind", "unknown kind \"%s\" "
			    "(one of %s)", o->kinds.v[i], cli_kinds());
		}
	}
	co.keepalive_ms = o->keepalive_ms;
	if ((code = connopts_fill(&co, a, &r.no)) != 0) {
		free(r.kinds);
		subfmt_free(r.fmt);
		return code;
	}
	if ((r.c = cli_connect(&r.no, &code)) == NULL) {
		free(r.kinds);
		subfmt_free(r.fmt);
		return code;
	}
	if ((st = subscribe(&r, &sub_id, err, sizeof(err))) != NWD_OK) {
		cli_say("sub", "%s", err);
		code = cli_exit_status(r.c, st);
		goto out;
	}
	fprintf(stderr, "nwd: subscribed id=%" PRIu64 "\n", sub_id);

	for (;;) {
		if ((code = deliveries(&r, &st, err, sizeof(err), &what)) >= 0)
			break;
		/* The session failed: say why, then stop or go on. */
		if (!r.reconnect || !mendable(r.c, st, err)) {
			cli_say(what, "%s", err);
			code = cli_exit_status(r.c, st);
			break;
		}
		nwd_close(r.c);
		r.c = NULL;
		if (strcmp(what, "ack") == 0) {
			/* The message comes again once acknowledged. */
			cli_say("ack", "%s", err);
			snprintf(err, sizeof(err), "the acknowledgement was "
			    "not recorded");
		}
		if ((code = reconnect(&r, err)) >= 0)
			break;
	}
 out:
	nwd_close(r.c);
	free(r.kinds);
	subfmt_free(r.fmt);
	return code;
}

const struct cmd cmd_sub = {
	.name = "sub",
	.run = sub_run,
	.opts = sub_opts,
	.optsize = sizeof(struct sub),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "sub [--kind K]... [--subject ID]... [--pretty | --format "
	    "TEMPLATE]\n      [options]",
	.help = "Subscribes and prints each delivery as one JSON line, then "
	    "acknowledges it\n(the broker has recorded the acknowledgement "
	    "before the next line).  Prints\n\"nwd: subscribed id=N\" to "
	    "stderr once the broker has accepted the\nsubscription.  Waits "
	    "for ever unless --count or --idle-exit says otherwise,\npinging "
	    "the broker so that it does not close the session as idle; the\n"
	    "global --timeout is only the connect and request timeout.\n\n"
	    "When the session ends, the reason (the broker's Goodbye, the "
	    "error that\nclosed it, or the dropped connection) is printed to "
	    "stderr.  With --reconnect\n(the default with --durable) nwd sub "
	    "then connects and subscribes again,\nafter 1 s, doubling to 30 s "
	    "(with jitter), one stderr line per attempt; a\nrefusal that will "
	    "not change (our certificate, the policy, a limit, other\nfilters "
	    "for the durable name) stops it.  A durable subscription's replay "
	    "loses\nnothing; a message printed but not yet acknowledged comes "
	    "again.\n\nOptions:\n",
	.more = "\nLine fields: delivery_id, message_id, sender, agency, kind, "
	    "subject,\nmarking, priority, created_unix_ms, fields_withheld, "
	    "rule, policy_version,\nbody (and nhs_number, legal_basis, "
	    "justification, supersedes, references\nwhen set).\n\n"
	    "--format TEMPLATE prints TEMPLATE for each delivery, then a "
	    "newline: %{FIELD}\nis a line field, %{created} its time in ISO "
	    "8601, %{body.PATH} a field of\nthe body (%{body.location.town}); "
	    "%% is a %, \\n a newline, \\t a tab, \\\\ a\n"
	    "backslash.  A field that is not set prints as nothing, an object "
	    "or array\nas JSON; control characters as '?'.  For example:\n"
	    "  nwd sub --format '%{created} %{kind} %{subject} %{body.level}'\n"
	    "\nSubjects are matched exactly: a --subject with * or ? is "
	    "refused (exit 2).\n\n"
	    "Exit status: 0 after --count deliveries; 6 after --idle-exit "
	    "without one;\nwhen the session ends and is not resumed, as for "
	    "any command: 4 for a\nGoodbye, a dropped connection or the "
	    "broker's idle timeout, 1 for a refusal.\n",
	.width = 20,
};
