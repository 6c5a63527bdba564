/*
 * cmd_push: "nwd push KIND", one message published: its envelope built
 * from the options and a JSON body (compose.c), checked locally, sent, and
 * the broker's acknowledgement printed as one JSON line: how many it
 * reached, how many were allowed but not reachable, and whether it went to
 * the duty desk.
 *
 * "nwd push --lines": one message per line of stdin, a JSON object with
 * the header's fields and the body, all in one session, one result line
 * each (pushlines.c reads the lines).
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "compose.h"
#include "connopts.h"
#include "nwd.h"
#include "pbjson.h"

struct push {
	struct compose_msg	msg;
	int			lines;
	struct connopts		conn;
};

static const struct args_opt push_opts[] = {
	{ .type = ARGS_INCLUDE, .table = compose_opts,
	  .off = offsetof(struct push, msg) },
	{ .name = "lines", .type = ARGS_FLAG,
	  .off = offsetof(struct push, lines),
	  .help = "one message per line of stdin, header and body,\n"
	    "in one session (see below)" },
	/* For tests of the broker, which must overwrite both: not listed. */
	{ .name = "claim-sender", .type = ARGS_STRING, .arg = "ID[,AGENCY]",
	  .off = offsetof(struct push, msg.claim_sender) },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct push, conn) },
	{ .type = ARGS_END },
};

/* The acknowledgement as push prints it, after "line" if line > 0. */
static json_object *
ack_json(const Nwd__V1__PublishAck *ack, long line)
{
	json_object *j;

	j = json_object_new_object();
	if (line > 0)
		json_object_object_add(j, "line", json_object_new_int64(line));
	cli_json_string(j, "message_id", ack->message_id);
	json_object_object_add(j, "recipients",
	    json_object_new_int64(ack->recipients));
	json_object_object_add(j, "duty_desk",
	    json_object_new_boolean(ack->duty_desk));
	json_object_object_add(j, "not_reachable",
	    json_object_new_int64(ack->not_reachable));
	cli_json_string(j, "policy_version", ack->policy_version);
	return j;
}

/* ------------------------------------------------------------------------
 * --lines
 */

/* The fields of a line besides the body: the message options'. */
enum line_key {
	L_KIND, L_SUBJECT, L_NHS, L_MARKING, L_PRIORITY, L_BASIS,
	L_JUSTIFICATION, L_SHARE_WITH, L_SUPERSEDES, L_REFERENCES, L_BODY,
	L_NKEYS
};

static const struct {
	const char	*name;		/* as the .proto and --lines spell it */
	const char	*camel;		/* proto3's lowerCamelCase, or NULL */
	enum line_key	 key;
} line_keys[] = {
	{ "kind", NULL, L_KIND },
	{ "subject", NULL, L_SUBJECT },
	{ "nhs_number", "nhsNumber", L_NHS },
	{ "marking", NULL, L_MARKING },
	{ "priority", NULL, L_PRIORITY },
	{ "legal_basis", "legalBasis", L_BASIS },
	{ "basis", NULL, L_BASIS },
	{ "justification", NULL, L_JUSTIFICATION },
	{ "share_with", "shareWith", L_SHARE_WITH },
	{ "supersedes", NULL, L_SUPERSEDES },
	{ "references", NULL, L_REFERENCES },
	{ "body", NULL, L_BODY },
};

#define LINE_KEY_NAMES	"kind, subject, nhs_number, marking, priority, " \
			    "legal_basis, justification, share_with, " \
			    "supersedes, references, body"

/* One line's message: the command line's options, then the line's. */
struct line_msg {
	struct compose_msg	 m;
	char			*subject[1];	/* m.subjects' if the line
						   names one */
	char			**share;	/* owned array of borrowed
						   strings, or NULL */
	json_object		*empty;		/* owned: the body if the line
						   has none */
};

static void
line_msg_free(struct line_msg *lm)
{
	free(lm->share);
	json_object_put(lm->empty);
}

/*
 * Fills lm from the defaults and the line's object obj (whose strings it
 * borrows).  Returns 0, or -1 with the reason in why.
 */
static int
line_msg(struct line_msg *lm, const struct compose_msg *defaults,
    json_object *obj, char *why, size_t whylen)
{
	const char	*seen[L_NKEYS], **slot;
	json_object	*e;
	size_t		 i, n;
	enum line_key	 k;

	memset(lm, 0, sizeof(*lm));
	memset(seen, 0, sizeof(seen));
	lm->m = *defaults;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "expected a JSON object, got %s",
		    json_type_to_name(json_object_get_type(obj)));
		return -1;
	}
	json_object_object_foreach(obj, key, val) {
		for (i = 0; i < sizeof(line_keys) / sizeof(line_keys[0]); i++)
			if (strcmp(key, line_keys[i].name) == 0 ||
			    (line_keys[i].camel != NULL &&
			    strcmp(key, line_keys[i].camel) == 0))
				break;
		if (i == sizeof(line_keys) / sizeof(line_keys[0])) {
			snprintf(why, whylen, "unknown field '%s' (a line has "
			    LINE_KEY_NAMES ")", key);
			return -1;
		}
		k = line_keys[i].key;
		if (seen[k] != NULL) {
			snprintf(why, whylen, "field '%s' given twice (as '%s' "
			    "and '%s')", line_keys[i].name, seen[k], key);
			return -1;
		}
		seen[k] = key;
		if (val == NULL)	/* null: not set, as in the body */
			continue;
		if (k == L_BODY) {
			if (!json_object_is_type(val, json_type_object)) {
				snprintf(why, whylen, "field 'body': expected "
				    "an object, got %s", json_type_to_name(
				    json_object_get_type(val)));
				return -1;
			}
			lm->m.body_json = val;
			continue;
		}
		if (k == L_SHARE_WITH) {
			if (!json_object_is_type(val, json_type_array))
				goto not_string;
			n = json_object_array_length(val);
			free(lm->share);
			if ((lm->share = calloc(n + 1, sizeof(char *))) ==
			    NULL) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			for (i = 0; i < n; i++) {
				e = json_object_array_get_idx(val, i);
				if (!json_object_is_type(e, json_type_string))
					goto not_string;
				lm->share[i] = (char *)json_object_get_string(e);
			}
			lm->m.share_with.v = lm->share;
			lm->m.share_with.n = n;
			continue;
		}
		if (!json_object_is_type(val, json_type_string))
			goto not_string;
		switch (k) {
		case L_KIND:
			slot = &lm->m.kind;
			break;
		case L_SUBJECT:
			lm->subject[0] = (char *)json_object_get_string(val);
			lm->m.subjects.v = lm->subject;
			lm->m.subjects.n = 1;
			continue;
		case L_NHS:
			slot = &lm->m.nhs;
			break;
		case L_MARKING:
			slot = &lm->m.marking;
			break;
		case L_PRIORITY:
			slot = &lm->m.priority;
			break;
		case L_BASIS:
			slot = &lm->m.basis;
			break;
		case L_JUSTIFICATION:
			slot = &lm->m.justification;
			break;
		case L_SUPERSEDES:
			slot = &lm->m.supersedes;
			break;
		default:
			slot = &lm->m.references;
			break;
		}
		*slot = json_object_get_string(val);
		continue;
 not_string:
		snprintf(why, whylen, "field '%s': expected %s", key,
		    k == L_SHARE_WITH ? "an array of strings" : "a string");
		return -1;
	}
	if (lm->m.kind == NULL) {
		snprintf(why, whylen, "no kind: give \"kind\" on the line or "
		    "KIND on the command line");
		return -1;
	}
	if (lm->m.body_json == NULL) {
		if ((lm->empty = json_object_new_object()) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		lm->m.body_json = lm->empty;
	}
	return 0;
}

/* Prints {"line": N, "error": why, "exit": code}; returns code. */
static int
line_error(long line, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
line_error(long line, int code, const char *fmt, ...)
{
	json_object	*j;
	va_list		 ap;
	char		 why[1024];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	j = json_object_new_object();
	json_object_object_add(j, "line", json_object_new_int64(line));
	cli_json_string(j, "error", why);
	json_object_object_add(j, "exit", json_object_new_int(code));
	if (cli_json_line(j) == -1)
		code = CLI_EXIT_PROTOCOL;
	json_object_put(j);
	return code;
}

/*
 * Publishes in flight at once with --lines: the broker decides and audits
 * them together (well under its max_publishes_in_flight per session).
 */
#define PUSH_WINDOW	64

/* A run of --lines: the session, the Publishes in flight, the tally. */
struct lines_run {
	struct nwd_client	*c;
	struct {
		uint64_t	 id;		/* its request id */
		long		 line;
	}			 flight[PUSH_WINDOW];
	size_t			 nflight;
	long			 sent, failed;
	int			 first;		/* the first failure's exit
						   status, or 0 */
	int			 stop;		/* the session failed */
};

static void
tally(struct lines_run *r, int code)
{
	if (code == 0) {
		r->sent++;
		return;
	}
	r->failed++;
	if (r->first == 0)
		r->first = code;
}

/*
 * Waits for the answer to one Publish in flight and prints its result
 * line.  On a failure of the session, every Publish still in flight gets
 * its error line, and r->stop is set.
 */
static void
take_result(struct lines_run *r)
{
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st;
	json_object		*j;
	uint64_t		 id;
	size_t			 i;
	char			 err[512];
	int			 code;

	st = nwd_publish_result(r->c, &id, &ack, err, sizeof(err));
	if (id == 0 && st != NWD_OK) {
		code = cli_exit_status(r->c, st);
		for (i = 0; i < r->nflight; i++)
			tally(r, line_error(r->flight[i].line, code, "%s",
			    err));
		r->nflight = 0;
		r->stop = 1;
		return;
	}
	for (i = 0; i < r->nflight && r->flight[i].id != id; i++)
		;
	if (i == r->nflight) {
		/* Not one of ours: the broker broke the protocol. */
		nwd_publish_ack_free(ack);
		return;
	}
	if (st != NWD_OK)
		code = line_error(r->flight[i].line, cli_exit_status(r->c, st),
		    "%s", err);
	else {
		j = ack_json(ack, r->flight[i].line);
		code = cli_json_line(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
		json_object_put(j);
	}
	tally(r, code);
	nwd_publish_ack_free(ack);
	r->flight[i] = r->flight[--r->nflight];
}

/*
 * One line: parsed and composed, then sent (its result comes later, by
 * take_result()) or its error line printed at once.
 */
static void
push_line(struct lines_run *r, const struct compose_msg *defaults,
    const char *text, size_t len, long line)
{
	struct line_msg		 lm;
	struct compose_error	 e;
	Nwd__V1__Envelope	*env;
	enum nwd_status		 st;
	json_object		*obj;
	uint64_t		 id;
	char			 err[512];

	if ((obj = pbjson_read(text, len, err, sizeof(err))) == NULL) {
		tally(r, line_error(line, CLI_EXIT_USAGE, "%s", err));
		return;
	}
	if (line_msg(&lm, defaults, obj, err, sizeof(err)) == -1) {
		tally(r, line_error(line, CLI_EXIT_USAGE, "%s", err));
		goto out;
	}
	if ((env = compose_envelope(&lm.m, &e)) == NULL) {
		tally(r, line_error(line, CLI_EXIT_USAGE, "%s: %s", e.what,
		    e.why));
		goto out;
	}
	if (r->nflight == PUSH_WINDOW)
		take_result(r);
	if (r->stop)
		tally(r, line_error(line, CLI_EXIT_UNAVAILABLE, "not sent: "
		    "the session failed"));
	else if ((st = nwd_publish_send(r->c, env, &id, err,
	    sizeof(err))) != NWD_OK) {
		tally(r, line_error(line, cli_exit_status(r->c, st), "%s",
		    err));
		r->stop = 1;
	} else {
		r->flight[r->nflight].id = id;
		r->flight[r->nflight].line = line;
		r->nflight++;
	}
	compose_free(env);
 out:
	line_msg_free(&lm);
	json_object_put(obj);
}

static int
push_lines(struct args *a)
{
	struct push		*o = a->opts;
	struct lines_run	 r;
	char			*text = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	long			 line = 0;
	int			 code;

	if (a->argc > 1)
		return args_usage(a, a->name, "with --lines, the messages "
		    "come on stdin: give at most KIND");
	o->msg.command = "push";
	o->msg.kind = a->argc > 0 ? a->argv[0] : NULL;
	memset(&r, 0, sizeof(r));
	if ((r.c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	while (!r.stop && (n = getline(&text, &cap, stdin)) != -1) {
		line++;
		while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			n--;
		if (strspn(text, " \t") >= (size_t)n)
			continue;	/* a blank line */
		push_line(&r, &o->msg, text, (size_t)n, line);
	}
	while (r.nflight > 0)
		take_result(&r);
	if (ferror(stdin)) {
		cli_say("stdin", "%s", strerror(errno));
		tally(&r, CLI_EXIT_USAGE);
	}
	free(text);
	nwd_close(r.c);
	if (cli_flush() == -1)
		tally(&r, CLI_EXIT_PROTOCOL);
	if (r.stop)
		cli_say("push", "the session failed by line %ld: the lines "
		    "after it were not read", line);
	if (r.failed > 0)
		cli_say("push", "%ld of %ld message%s failed", r.failed,
		    r.failed + r.sent, r.failed + r.sent == 1 ? "" : "s");
	return r.first;
}

static int
push_run(struct args *a)
{
	struct push		*o = a->opts;
	struct compose_error	 e;
	Nwd__V1__Envelope	*env;
	Nwd__V1__PublishAck	*ack = NULL;
	struct nwd_client	*c = NULL;
	enum nwd_status		 st;
	json_object		*j;
	char			 err[512];
	int			 code = CLI_EXIT_USAGE;

	if (o->lines)
		return push_lines(a);
	if (a->argc < 1 || a->argc > 2)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_push.synopsis);
	o->msg.command = "push";
	o->msg.kind = a->argv[0];
	o->msg.body_file = a->argc > 1 ? a->argv[1] : NULL;
	if ((env = compose_envelope(&o->msg, &e)) == NULL) {
		if (e.usage)
			return args_usage(a, e.what, "%s", e.why);
		cli_say(e.what, "%s", e.why);
		return CLI_EXIT_USAGE;
	}

	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		goto out;
	if ((st = nwd_publish(c, env, &ack, err, sizeof(err))) != NWD_OK) {
		cli_say("push", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	j = ack_json(ack, 0);
	code = cli_print_json(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(j);
 out:
	nwd_publish_ack_free(ack);
	nwd_close(c);
	compose_free(env);
	return code;
}

const struct cmd cmd_push = {
	.name = "push",
	.run = push_run,
	.opts = push_opts,
	.optsize = sizeof(struct push),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "push KIND --subject ID [options] [FILE|-]\n"
	    "  nwd push --lines [KIND] [options] < LINES",
	.help = "Publishes one message of KIND whose body is the JSON object "
	    "in FILE, or on\nstdin if FILE is '-' or absent.  Body fields are "
	    "the .proto names or\ntheir lowerCamelCase ones; enums are given by "
	    "name, in any case, or number.\nA key given twice is refused.  "
	    "The envelope is checked locally before it\nis sent.  Prints "
	    "{\"message_id\", \"recipients\", \"duty_desk\", "
	    "\"not_reachable\",\n\"policy_version\"}: recipients is how "
	    "many principals it reached (a live\nsession of theirs took it, "
	    "or a durable subscription of theirs holds it);\nnot_reachable, "
	    "how many the policy allows that nothing could reach;\nduty_desk, "
	    "whether it went to the duty desk because it reached no one\n"
	    "else.  A message that would reach no one, not even the duty "
	    "desk, is refused\n(exit 1), naming the rules that refused it.\n\n"
	    "Options:\n",
	.width = 20,
	.kinds = 1,
};
