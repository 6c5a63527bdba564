/*
 * cmd_status: "nwd status MESSAGE_ID", a publisher's view of what became of
 * a message it published, read from the broker's audit trail (an
 * AuditQuery with delivery_status set; see nwd.proto): who it was shared
 * with and when, which fields were withheld from whom, who acknowledged
 * receipt, who was refused it and why.  The broker answers only about the
 * caller's own messages and audits every question.
 *
 * The broker sends the message's publish, deliver, deliver_refused and ack
 * rows in the order they were written; this file folds them into one entry
 * per recipient.  Text from the trail is printed with control characters
 * replaced in the table, and escaped in JSON.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"

#define STATUS_PAGE_ROWS	1000	/* the most the broker puts in a page */
#define STATUS_TIME_LEN		32

/* What the trail says about one recipient; the events are a page's. */
struct rcpt {
	const char			*id;
	const Nwd__V1__AuditEvent	*first;		/* first deliver */
	const Nwd__V1__AuditEvent	*last;		/* last deliver */
	const Nwd__V1__AuditEvent	*ack;		/* first ack */
	const Nwd__V1__AuditEvent	*refused;	/* last refusal */
	size_t				 ndeliver;
	int				 refused_last;	/* after last deliver */
};

struct status {
	const char			*message_id;	/* the caller's */
	Nwd__V1__AuditPage		**pages;	/* owned */
	size_t				 npages;
	const Nwd__V1__AuditEvent	*publish;	/* in a page */
	struct rcpt			*rcpts;		/* owned */
	size_t				 nrcpts;
};

static void
status_free(struct status *s)
{
	size_t i;

	for (i = 0; i < s->npages; i++)
		nwd_audit_page_free(s->pages[i]);
	free(s->pages);
	free(s->rcpts);
}

/* Reads every page of the answer into s. */
static enum nwd_status
status_read(struct nwd_client *c, struct status *s, char *err,
    size_t errlen)
{
	Nwd__V1__AuditQuery	 q;
	Nwd__V1__AuditPage	*page = NULL, **v;
	enum nwd_status		 st;
	char			 token[256];

	nwd__v1__audit_query__init(&q);
	q.message_id = (char *)s->message_id;
	q.delivery_status = 1;
	q.limit = STATUS_PAGE_ROWS;
	for (;;) {
		if ((st = nwd_audit_query(c, &q, &page, err, errlen)) != NWD_OK)
			return st;
		if ((v = reallocarray(s->pages, s->npages + 1,
		    sizeof(*v))) == NULL) {
			nwd_audit_page_free(page);
			snprintf(err, errlen, "out of memory");
			return NWD_ERR_INTERNAL;
		}
		s->pages = v;
		s->pages[s->npages++] = page;
		if (page->next_page_token[0] == '\0')
			return NWD_OK;
		if (strlen(page->next_page_token) >= sizeof(token)) {
			snprintf(err, errlen, "the broker sent a page token of "
			    "%zu bytes", strlen(page->next_page_token));
			return NWD_ERR_PROTOCOL;
		}
		snprintf(token, sizeof(token), "%s", page->next_page_token);
		q.page_token = token;
	}
}

static struct rcpt *
rcpt_get(struct status *s, const char *id)
{
	struct rcpt	*v;
	size_t		 i;

	for (i = 0; i < s->nrcpts; i++)
		if (strcmp(s->rcpts[i].id, id) == 0)
			return &s->rcpts[i];
	if ((v = reallocarray(s->rcpts, s->nrcpts + 1, sizeof(*v))) == NULL)
		return NULL;
	s->rcpts = v;
	v = &s->rcpts[s->nrcpts++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	return v;
}

/* Folds the rows, in the order written, into one entry per recipient. */
static int
status_fold(struct status *s)
{
	const Nwd__V1__AuditEvent	*e;
	struct rcpt			*r;
	size_t				 p, i;

	for (p = 0; p < s->npages; p++)
		for (i = 0; i < s->pages[p]->n_events; i++) {
			e = s->pages[p]->events[i];
			if (strcmp(e->action, "publish") == 0) {
				if (s->publish == NULL)
					s->publish = e;
				continue;
			}
			if (e->recipient[0] == '\0')
				continue;
			if ((r = rcpt_get(s, e->recipient)) == NULL)
				return -1;
			if (strcmp(e->action, "deliver") == 0) {
				if (r->first == NULL)
					r->first = e;
				r->last = e;
				r->ndeliver++;
				r->refused_last = 0;
			} else if (strcmp(e->action, "deliver_refused") == 0) {
				r->refused = e;
				r->refused_last = 1;
			} else if (strcmp(e->action, "ack") == 0 &&
			    r->ack == NULL)
				r->ack = e;
		}
	return 0;
}

/* "2025-03-01T10:00:00.123Z"; "-" for 0. */
static const char *
time_text(int64_t ms, char *out, size_t outlen)
{
	return cli_time(ms, 1, out, outlen);
}

/* s with control characters as '?', for a terminal; "-" if empty. */
static const char *
printable(const char *s, char *out, size_t outlen)
{
	return s == NULL || s[0] == '\0' ? "-" : cli_clean(s, out, outlen);
}

static const char *
rcpt_state(const struct rcpt *r)
{
	if (r->ack != NULL)
		return "acknowledged";
	return r->refused_last ? "refused" : "delivered";
}

/* ---- the table ---------------------------------------------------------- */

static void
print_table(const struct status *s)
{
	const Nwd__V1__AuditEvent	*e;
	const struct rcpt		*r;
	const char			*kn;
	char t1[STATUS_TIME_LEN], t2[STATUS_TIME_LEN];
	char				 a[256], b[1024], list[4096];
	size_t				 i, p, w = strlen("RECIPIENT"), len;
	size_t				 nshared = 0, nacked = 0, nrefused = 0;

	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		nshared += r->first != NULL;
		nacked += r->ack != NULL;
		nrefused += r->refused != NULL;
		if ((len = strlen(printable(r->id, a, sizeof(a)))) > w)
			w = len;
	}
	e = s->publish;
	kn = e != NULL && e->kind != 0 ? envelope_kind_name(e->kind) : NULL;
	printf("Message     %s\n", printable(s->message_id, a, sizeof(a)));
	printf("Kind        %s\n", kn != NULL ? kn : "-");
	printf("Published   %s", time_text(e != NULL ? e->at_unix_ms : 0, t1,
	    sizeof(t1)));
	if (e != NULL && e->rule[0] != '\0')
		printf(" (rule %s)", printable(e->rule, b, sizeof(b)));
	printf("\nShared with %zu recipient%s; %zu acknowledged; %zu "
	    "refused\n\n", nshared, nshared == 1 ? "" : "s", nacked, nrefused);

	printf("%-*s  %-24s  %-24s  %-10s  %s\n", (int)w, "RECIPIENT",
	    "DELIVERED AT", "ACKNOWLEDGED AT", "DELIVERIES", "WITHHELD");
	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if (r->first == NULL && r->ack == NULL)
			continue;	/* refused only: below */
		if (r->last != NULL)
			cli_join(list, sizeof(list), r->last->fields_withheld,
			    r->last->n_fields_withheld, ",");
		else
			list[0] = '\0';
		printf("%-*s  %-24s  %-24s  %-10zu  %s\n", (int)w,
		    printable(r->id, a, sizeof(a)),
		    time_text(r->first != NULL ? r->first->at_unix_ms : 0, t1,
		    sizeof(t1)), r->ack != NULL ? time_text(r->ack->at_unix_ms,
		    t2, sizeof(t2)) : "not yet", r->ndeliver,
		    printable(list, b, sizeof(b)));
	}
	if (nshared == 0)
		printf("(no one)\n");

	printf("\nRefused\n");
	if (nrefused == 0)
		printf("  none\n");
	for (p = 0; p < s->npages; p++)
		for (i = 0; i < s->pages[p]->n_events; i++) {
			e = s->pages[p]->events[i];
			if (strcmp(e->action, "deliver_refused") != 0)
				continue;
			printf("  %-*s  %s  %s", (int)w, printable(e->recipient,
			    a, sizeof(a)), time_text(e->at_unix_ms, t1,
			    sizeof(t1)), e->reason[0] != '\0' ?
			    printable(e->reason, b, sizeof(b)) : "refused");
			if (e->rule[0] != '\0')
				printf(" (rule %s)", printable(e->rule, b,
				    sizeof(b)));
			putchar('\n');
		}
}

/* ---- JSON lines --------------------------------------------------------- */

static void
add_time(json_object *o, const char *key, const Nwd__V1__AuditEvent *e)
{
	char t[STATUS_TIME_LEN];

	cli_json_text(o, key, e != NULL ? time_text(e->at_unix_ms, t,
	    sizeof(t)) : NULL);
}

static int
print_json(const struct status *s)
{
	const struct rcpt	*r;
	json_object		*o;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < s->nrcpts && rc == 0; i++) {
		r = &s->rcpts[i];
		o = json_object_new_object();
		cli_json_text(o, "message_id", s->message_id);
		cli_json_text(o, "recipient", r->id);
		cli_json_text(o, "status", rcpt_state(r));
		add_time(o, "delivered_at", r->first);
		add_time(o, "acknowledged_at", r->ack);
		json_object_object_add(o, "deliveries",
		    json_object_new_int64((int64_t)r->ndeliver));
		json_object_object_add(o, "fields_shared", r->last != NULL ?
		    cli_json_strings(r->last->fields_shared,
		    r->last->n_fields_shared) : NULL);
		json_object_object_add(o, "fields_withheld", r->last != NULL ?
		    cli_json_strings(r->last->fields_withheld,
		    r->last->n_fields_withheld) : NULL);
		/* The rule of the latest decision, as the status. */
		cli_json_text(o, "rule", r->refused_last ? r->refused->rule :
		    r->last != NULL ? r->last->rule : NULL);
		add_time(o, "refused_at", r->refused);
		cli_json_text(o, "reason",
		    r->refused != NULL ? r->refused->reason : NULL);
		rc = cli_json_line(o);
		json_object_put(o);
	}
	return rc;
}

/* ---- the status of one message ----------------------------------------- */

/*
 * Asks c for the delivery status of message_id, following every page, and
 * prints it on stdout: a table, or with json one JSON object per recipient
 * per line.  Returns NWD_OK, or the failure with its cause in err; a
 * failure to write stdout is NWD_ERR_INTERNAL.
 */
static enum nwd_status
status_show(struct nwd_client *c, const char *message_id, int json,
    char *err, size_t errlen)
{
	struct status	s;
	enum nwd_status	st;
	int		rc;

	memset(&s, 0, sizeof(s));
	s.message_id = message_id;
	if ((st = status_read(c, &s, err, errlen)) != NWD_OK)
		goto out;
	if (status_fold(&s) == -1) {
		snprintf(err, errlen, "out of memory");
		st = NWD_ERR_INTERNAL;
		goto out;
	}
	if (json)
		rc = print_json(&s);
	else {
		print_table(&s);
		rc = 0;
	}
	if (rc == -1 || fflush(stdout) == EOF || ferror(stdout)) {
		snprintf(err, errlen, "stdout: %s", strerror(errno));
		st = NWD_ERR_INTERNAL;
	}
 out:
	status_free(&s);
	return st;
}

/* ---- the command -------------------------------------------------------- */

struct status_opts {
	int		json;
	struct connopts	conn;
};

static const struct args_opt status_options[] = {
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct status_opts, json),
	  .help = "one JSON object per recipient per line: message_id,\n"
	    "recipient, status (acknowledged, delivered or\n"
	    "refused: the latest decision), delivered_at,\n"
	    "acknowledged_at, deliveries, fields_shared,\n"
	    "fields_withheld, rule, refused_at, reason; times\n"
	    "ISO 8601 UTC, null when there is none" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct status_opts, conn) },
	{ .type = ARGS_END },
};

static int
status_run(struct args *a)
{
	const struct status_opts	*o = a->opts;
	struct nwd_client		*c;
	enum nwd_status			 st;
	char				 err[512];
	int				 code;

	if (a->argc != 1)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_status.synopsis);
	if (!envelope_is_uuid(a->argv[0]))
		return args_usage(a, "status", "\"%s\" is not a message id "
		    "(the UUID that push printed)", a->argv[0]);
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = status_show(c, a->argv[0], o->json, err,
	    sizeof(err))) != NWD_OK) {
		cli_say("status", "%s", err);
		code = cli_exit_status(c, st);
	} else
		code = 0;
	nwd_close(c);
	return code;
}

const struct cmd cmd_status = {
	.name = "status",
	.run = status_run,
	.opts = status_options,
	.optsize = sizeof(struct status_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "status MESSAGE_ID [--json]",
	.help = "Shows what became of a message we published, from the "
	    "broker's audit trail:\nwho it was shared with and when, which "
	    "fields were withheld from each\nrecipient, who has acknowledged "
	    "receipt, and who was refused it and why.\nAny principal may ask, "
	    "about the messages it published itself: a message\nsomebody else "
	    "published is \"not found\", as one that does not exist.  The\n"
	    "broker records every question in its audit trail.\n\n"
	    "The table has one line per recipient.  DELIVERED AT is when the "
	    "broker\nshared the message with them (sent it to their sessions "
	    "and queued it for\ntheir durable subscriptions; DELIVERIES counts "
	    "later replays too);\nACKNOWLEDGED AT is when their client "
	    "acknowledged receipt, or \"not yet\";\nWITHHELD lists the fields "
	    "removed for them under the sharing policy.\nRefusals follow, each "
	    "with its time, the policy's reason and the rule.\n\n"
	    "Options:\n",
	.more = "\nExit status 1 with ERROR_NOT_FOUND: no message of ours has "
	    "that id.\n",
	.width = 20,
};
