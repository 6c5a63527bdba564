/*
 * cmd_status: "nwd status MESSAGE_ID", a publisher's view of what became of
 * a message it published, read from the broker's audit trail (an
 * AuditQuery with delivery_status set; see nwd.proto): who it was shared
 * with and when, which fields were withheld from whom, who acknowledged
 * receipt, who was refused it and why.  The broker answers only about the
 * caller's own messages and audits every question.
 *
 * The broker sends the message's publish, deliver (with its route),
 * deliver_refused, deliver_lost, deliver_withdrawn and ack rows in the
 * order they were written, each recipient named or, where the policy's
 * status lines keep the name from the publisher, given by its role; this
 * file folds them into one entry per recipient and its state.  Text from
 * the trail is printed with control characters replaced in the table, and
 * escaped in JSON.
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

/*
 * How a recipient was reached, from its decision's route (AuditEvent.route)
 * and the rows after it.
 */
#define ROUTE_LIVE		0x01	/* a live session took it */
#define ROUTE_QUEUED		0x02	/* a durable subscription holds it */
#define ROUTE_UNREACHABLE	0x04	/* allowed, nothing could take it */
#define ROUTE_UNKNOWN		0x08	/* a row from before routes */

enum state {
	ST_LIVE,		/* reached live */
	ST_QUEUED,		/* queued */
	ST_LIVE_QUEUED,		/* live and queued */
	ST_DELIVERED,		/* reached, route not recorded */
	ST_NOT_REACHABLE,
	ST_LOST,		/* decided live, not sent, no queue */
	ST_WITHDRAWN,		/* queued, then withdrawn */
	ST_REFUSED_REPLAY,	/* queued, then refused at replay */
	ST_REFUSED,		/* refused at publication */
	ST_NSTATES
};

/* Each state as the table says it, and as JSON names it. */
static const char *const state_words[ST_NSTATES] = {
	"reached live", "queued", "live and queued", "delivered",
	"not reachable", "lost", "withdrawn", "refused at replay", "refused",
};
static const char *const state_names[ST_NSTATES] = {
	"live", "queued", "live_and_queued", "delivered", "not_reachable",
	"lost", "withdrawn", "refused_at_replay", "refused",
};

/*
 * What the trail says about one recipient; the events are a page's.  name
 * is "" where the policy's status lines keep it from the publisher (then
 * the rows are matched to recipients by role: see status_fold()).
 */
struct rcpt {
	const char			*name;
	const char			*role;		/* "" if unmapped */
	const Nwd__V1__AuditEvent	*decision;	/* deliver or refusal
							   at publication */
	const Nwd__V1__AuditEvent	*last;		/* last deliver */
	const Nwd__V1__AuditEvent	*ack;		/* first ack */
	const Nwd__V1__AuditEvent	*lost;		/* last deliver_lost */
	const Nwd__V1__AuditEvent	*withdrawn;
	const Nwd__V1__AuditEvent	*refused;	/* last refusal */
	int				 route;
	size_t				 nreplay;	/* deliver rows of
							   replays */
	int				 lost_after_replay;
};

struct status {
	const char			*message_id;	/* the caller's */
	Nwd__V1__AuditPage		**pages;	/* owned */
	size_t				 npages;
	const Nwd__V1__AuditEvent	*publish;	/* in a page */
	struct rcpt			*rcpts;		/* owned */
	size_t				 nrcpts;
	/* The statutory clocks the message set: deadline_set rows, and
	 * what became of each (met, breached, escalated), in order. */
	const Nwd__V1__AuditEvent	*clocks[64];
	size_t				 nclocks;
	/* The publish rows of its corrections and retraction. */
	const Nwd__V1__AuditEvent	*withdrawals[16];
	size_t				 nwithdrawals;
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

static int
route_bits(const char *route)
{
	int	bits = 0;

	if (route == NULL || route[0] == '\0')
		return ROUTE_UNKNOWN;
	if (strstr(route, "live") != NULL)
		bits |= ROUTE_LIVE;
	if (strstr(route, "queued") != NULL || strcmp(route, "replay") == 0)
		bits |= ROUTE_QUEUED;
	if (strcmp(route, "unreachable") == 0)
		bits |= ROUTE_UNREACHABLE;
	return bits;
}

static int
is_replay(const Nwd__V1__AuditEvent *e)
{
	return strcmp(e->action, "deliver") == 0 &&
	    strcmp(e->route, "replay") == 0;
}

/* A new entry for the recipient of e; NULL if out of memory. */
static struct rcpt *
rcpt_new(struct status *s, const Nwd__V1__AuditEvent *e)
{
	struct rcpt	*v;

	if ((v = reallocarray(s->rcpts, s->nrcpts + 1, sizeof(*v))) == NULL)
		return NULL;
	s->rcpts = v;
	v = &s->rcpts[s->nrcpts++];
	memset(v, 0, sizeof(*v));
	v->name = e->recipient;
	v->role = e->recipient_role;
	return v;
}

/* 1 if r's route reached it (live or queued), as far as the rows say. */
static int
reached(const struct rcpt *r)
{
	if (r->decision == NULL)
		return r->ack != NULL || r->nreplay > 0;
	if (strcmp(r->decision->action, "deliver") != 0)
		return 0;
	if (r->route & ROUTE_UNKNOWN)
		return 1;
	if (r->route & ROUTE_QUEUED)
		return 1;
	return (r->route & ROUTE_LIVE) && r->lost == NULL;
}

/*
 * The entry, among those whose name is blanked, that a later row of the
 * blanked recipient e most likely belongs to: one of its role that the
 * row can follow (want), the first such; NULL if none.
 */
enum want { W_ACK, W_QUEUED, W_LIVE };

static struct rcpt *
rcpt_match(struct status *s, const Nwd__V1__AuditEvent *e, enum want want)
{
	struct rcpt	*r;
	size_t		 i;

	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if (r->name[0] != '\0' || strcmp(r->role,
		    e->recipient_role) != 0)
			continue;
		switch (want) {
		case W_ACK:
			if (r->ack == NULL && reached(r))
				return r;
			break;
		case W_QUEUED:
			if ((r->route & ROUTE_QUEUED) && r->withdrawn == NULL &&
			    r->ack == NULL)
				return r;
			break;
		case W_LIVE:
			if ((r->route & ROUTE_LIVE) && r->lost == NULL)
				return r;
			break;
		}
	}
	return NULL;
}

/*
 * The entry a row belongs to.  A named recipient is found by name.  The
 * rows of a recipient whose name is blanked carry only its role: each
 * decision at publication (the rows before any acknowledgement, loss,
 * withdrawal or replay) is a recipient of its own, and each later row goes
 * to the first recipient of that role it can follow: an ack to one reached
 * and not yet acknowledged, a loss to one sent live, a withdrawal, a
 * replay or a refusal at replay to one queued.  Which of two recipients of
 * one role acknowledged is then not known, but how many did is.
 */
static struct rcpt *
rcpt_for(struct status *s, const Nwd__V1__AuditEvent *e, int later)
{
	struct rcpt	*r = NULL;
	size_t		 i;

	if (e->recipient[0] != '\0') {
		for (i = 0; i < s->nrcpts; i++)
			if (strcmp(s->rcpts[i].name, e->recipient) == 0)
				return &s->rcpts[i];
		return rcpt_new(s, e);
	}
	if (!later)
		return rcpt_new(s, e);
	if (strcmp(e->action, "ack") == 0)
		r = rcpt_match(s, e, W_ACK);
	else if (strcmp(e->action, "deliver_lost") == 0 &&
	    (r = rcpt_match(s, e, W_LIVE)) == NULL)
		r = rcpt_match(s, e, W_QUEUED);
	else if (strcmp(e->action, "deliver_lost") != 0)
		r = rcpt_match(s, e, W_QUEUED);
	return r != NULL ? r : rcpt_new(s, e);
}

/* Folds the rows, in the order written, into one entry per recipient. */
static int
status_fold(struct status *s)
{
	const Nwd__V1__AuditEvent	*e;
	struct rcpt			*r;
	size_t				 p, i;
	int				 later = 0;

	for (p = 0; p < s->npages; p++)
		for (i = 0; i < s->pages[p]->n_events; i++) {
			e = s->pages[p]->events[i];
			if (strcmp(e->action, "publish") == 0) {
				/* A correction or retraction of it. */
				if (strcmp(e->message_id, s->message_id) != 0) {
					if (s->nwithdrawals < 16)
						s->withdrawals[
						    s->nwithdrawals++] = e;
				} else if (s->publish == NULL)
					s->publish = e;
				continue;
			}
			if (strncmp(e->action, "deadline_", 9) == 0 ||
			    strcmp(e->action, "escalated") == 0) {
				if (s->nclocks < 64)
					s->clocks[s->nclocks++] = e;
				continue;
			}
			if (strcmp(e->action, "ack") == 0 ||
			    strcmp(e->action, "deliver_lost") == 0 ||
			    strcmp(e->action, "deliver_withdrawn") == 0 ||
			    is_replay(e))
				later = 1;
			if (e->recipient[0] == '\0' &&
			    e->recipient_role[0] == '\0' && later)
				continue;	/* nobody to pin it on */
			if ((r = rcpt_for(s, e, later)) == NULL)
				return -1;
			if (strcmp(e->action, "deliver") == 0) {
				if (is_replay(e))
					r->nreplay++;
				else if (r->decision == NULL) {
					r->decision = e;
					r->route = route_bits(e->route);
				}
				r->last = e;
			} else if (strcmp(e->action, "deliver_refused") == 0) {
				if (r->decision == NULL)
					r->decision = e;
				r->refused = e;
			} else if (strcmp(e->action, "ack") == 0) {
				if (r->ack == NULL)
					r->ack = e;
			} else if (strcmp(e->action, "deliver_lost") == 0) {
				r->lost = e;
				r->lost_after_replay = r->nreplay > 0;
			} else if (strcmp(e->action, "deliver_withdrawn") == 0)
				r->withdrawn = e;
		}
	return 0;
}

static enum state	rcpt_state(const struct rcpt *);

/* 1 if an acknowledgement of r may yet come: it was reached, and its
 * copy was neither withdrawn nor refused at replay. */
static int
ack_pending(const struct rcpt *r)
{
	enum state st = rcpt_state(r);

	return r->ack == NULL && reached(r) && st != ST_WITHDRAWN &&
	    st != ST_REFUSED_REPLAY;
}

static enum state
rcpt_state(const struct rcpt *r)
{
	if (r->decision != NULL &&
	    strcmp(r->decision->action, "deliver_refused") == 0)
		return ST_REFUSED;
	if (r->route & ROUTE_UNREACHABLE)
		return ST_NOT_REACHABLE;
	if (r->withdrawn != NULL)
		return ST_WITHDRAWN;
	if (r->refused != NULL && r->ack == NULL)
		return ST_REFUSED_REPLAY;
	if (r->decision == NULL || (r->route & ROUTE_UNKNOWN))
		return ST_DELIVERED;
	if ((r->route & ROUTE_LIVE) && (r->route & ROUTE_QUEUED))
		return r->lost != NULL ? ST_QUEUED : ST_LIVE_QUEUED;
	if (r->route & ROUTE_QUEUED)
		return ST_QUEUED;
	return r->lost != NULL && !r->lost_after_replay ? ST_LOST : ST_LIVE;
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

/* The recipient as the table names it: its name, or "a ROLE". */
static const char *
who(const struct rcpt *r, char *out, size_t outlen)
{
	char role[256];

	if (r->name[0] != '\0')
		return cli_clean(r->name, out, outlen);
	if (r->role[0] == '\0')
		return "a recipient no longer mapped";
	snprintf(out, outlen, "a %s", cli_clean(r->role, role, sizeof(role)));
	return out;
}

/* ---- the table ---------------------------------------------------------- */

/* "1 reached live, 2 queued" from counts by state, into out. */
static void
counts_text(const size_t n[ST_NSTATES], char *out, size_t outlen)
{
	size_t	i, off = 0;

	out[0] = '\0';
	for (i = 0; i < ST_NSTATES && off < outlen; i++)
		if (n[i] > 0)
			off += snprintf(out + off, outlen - off, "%s%zu %s",
			    off > 0 ? ", " : "", n[i], state_words[i]);
}

/* "Recipients" and "By role": counts by state, then by role and state. */
static void
print_summary(const struct status *s)
{
	const struct rcpt	*r;
	size_t			 n[ST_NSTATES], i, k, acked, nr = 0;
	char			 line[1024], role[256];
	int			 first = 1;

	memset(n, 0, sizeof(n));
	for (i = 0, acked = 0; i < s->nrcpts; i++) {
		n[rcpt_state(&s->rcpts[i])]++;
		acked += s->rcpts[i].ack != NULL;
		nr += reached(&s->rcpts[i]);
	}
	counts_text(n, line, sizeof(line));
	printf("Recipients  %zu reached of %zu: %s; %zu acknowledged\n", nr,
	    s->nrcpts, s->nrcpts > 0 ? line : "none", acked);
	/* By role, in the order the roles first appear. */
	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		for (k = 0; k < i; k++)
			if (strcmp(s->rcpts[k].role, r->role) == 0)
				break;
		if (k < i)
			continue;
		memset(n, 0, sizeof(n));
		for (k = i, acked = 0; k < s->nrcpts; k++) {
			if (strcmp(s->rcpts[k].role, r->role) != 0)
				continue;
			n[rcpt_state(&s->rcpts[k])]++;
			acked += s->rcpts[k].ack != NULL;
		}
		counts_text(n, line, sizeof(line));
		printf("%s%s: %s; %zu acknowledged\n", first ? "By role     " :
		    "            ", r->role[0] != '\0' ? cli_clean(r->role,
		    role, sizeof(role)) : "(no longer mapped)", line, acked);
		first = 0;
	}
}

/* "Corrected by  ID (time)", "Retracted by  ID (time)": each message
 * that superseded it. */
static void
print_withdrawals(const struct status *s)
{
	const Nwd__V1__AuditEvent	*e;
	char				 a[128], t[STATUS_TIME_LEN];
	size_t				 i;

	for (i = 0; i < s->nwithdrawals; i++) {
		e = s->withdrawals[i];
		printf("%s %s (%s)\n", e->kind == NWD__V1__KIND__RETRACTION ?
		    "Retracted by" : "Corrected by", printable(e->message_id,
		    a, sizeof(a)), time_text(e->at_unix_ms, t, sizeof(t)));
	}
}

/*
 * "Deadline    return-interview: due 2027-01-11 16:00 GMT; breached,
 * escalated 2 times" or "...; met by a school_dsl (2027-05-04 ...)".
 */
static void
print_clocks(const struct status *s)
{
	const Nwd__V1__AuditEvent	*set, *e, *met;
	char				 rule[256], why[512], t[STATUS_TIME_LEN];
	size_t				 i, k, nesc;
	int				 breached;

	for (i = 0; i < s->nclocks; i++) {
		set = s->clocks[i];
		if (strcmp(set->action, "deadline_set") != 0)
			continue;
		met = NULL;
		nesc = 0;
		breached = 0;
		for (k = 0; k < s->nclocks; k++) {
			e = s->clocks[k];
			if (strcmp(e->rule, set->rule) != 0)
				continue;
			if (strcmp(e->action, "deadline_met") == 0)
				met = e;
			else if (strcmp(e->action, "escalated") == 0)
				nesc++;
			else if (strcmp(e->action, "deadline_breached") == 0)
				breached = 1;
		}
		printf("Deadline    %s: %s", printable(set->rule, rule,
		    sizeof(rule)), printable(set->reason, why, sizeof(why)));
		if (met != NULL)
			printf("; %s (%s)", printable(met->reason, why,
			    sizeof(why)), time_text(met->at_unix_ms, t,
			    sizeof(t)));
		else if (breached)
			printf("; breached, not met");
		else
			printf("; not yet met");
		if (nesc > 0)
			printf("; escalated %zu time%s", nesc, nesc == 1 ? "" :
			    "s");
		putchar('\n');
	}
}

static void
print_table(const struct status *s)
{
	const Nwd__V1__AuditEvent	*e;
	const struct rcpt		*r;
	const char			*kn;
	char t1[STATUS_TIME_LEN], t2[STATUS_TIME_LEN];
	char				 a[256], b[1024], list[4096];
	char				 state[64], role[256];
	size_t				 i, w = strlen("RECIPIENT"), len;
	size_t				 wr = strlen("ROLE"), nrefused = 0;
	size_t				 nshown = 0;
	enum state			 st;

	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if ((len = strlen(who(r, a, sizeof(a)))) > w)
			w = len;
		if ((len = strlen(printable(r->role, role,
		    sizeof(role)))) > wr)
			wr = len;
	}
	e = s->publish;
	kn = e != NULL && e->kind != 0 ? envelope_kind_name(e->kind) : NULL;
	printf("Message     %s\n", printable(s->message_id, a, sizeof(a)));
	printf("Kind        %s\n", kn != NULL ? kn : "-");
	printf("Published   %s", time_text(e != NULL ? e->at_unix_ms : 0, t1,
	    sizeof(t1)));
	if (e != NULL && e->rule[0] != '\0')
		printf(" (rule %s)", printable(e->rule, b, sizeof(b)));
	putchar('\n');
	print_withdrawals(s);
	print_clocks(s);
	print_summary(s);
	putchar('\n');

	printf("%-*s  %-*s  %-24s  %-24s  %-24s  %s\n", (int)w, "RECIPIENT",
	    (int)wr, "ROLE", "STATE", "REACHED AT", "ACKNOWLEDGED AT",
	    "WITHHELD");
	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if ((st = rcpt_state(r)) == ST_REFUSED) {
			nrefused++;
			continue;	/* below */
		}
		nshown++;
		snprintf(state, sizeof(state), "%s", state_words[st]);
		if (st == ST_QUEUED && r->lost != NULL && !r->lost_after_replay)
			snprintf(state, sizeof(state), "queued (live lost)");
		else if (r->nreplay > 0 && (st == ST_QUEUED ||
		    st == ST_LIVE_QUEUED))
			snprintf(state, sizeof(state), "%s, replayed",
			    state_words[st]);
		if (r->last != NULL)
			cli_join(list, sizeof(list), r->last->fields_withheld,
			    r->last->n_fields_withheld, ",");
		else
			list[0] = '\0';
		printf("%-*s  %-*s  %-24s  %-24s  %-24s  %s\n", (int)w,
		    who(r, a, sizeof(a)), (int)wr, printable(r->role, role,
		    sizeof(role)), state, reached(r) && r->decision != NULL ?
		    time_text(r->decision->at_unix_ms, t1, sizeof(t1)) : "-",
		    r->ack != NULL ? time_text(r->ack->at_unix_ms, t2,
		    sizeof(t2)) : ack_pending(r) ? "not yet" : "-",
		    printable(list, b, sizeof(b)));
	}
	if (nshown == 0)
		printf("(no one)\n");

	printf("\nRefused\n");
	if (nrefused == 0)
		printf("  none\n");
	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if (rcpt_state(r) != ST_REFUSED)
			continue;
		e = r->decision;
		printf("  %-*s  %s  %s", (int)w, who(r, a, sizeof(a)),
		    time_text(e->at_unix_ms, t1, sizeof(t1)),
		    e->reason[0] != '\0' ? printable(e->reason, b, sizeof(b)) :
		    "refused");
		if (e->rule[0] != '\0')
			printf(" (rule %s)", printable(e->rule, b, sizeof(b)));
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
	enum state		 st;

	for (i = 0; i < s->nrcpts && rc == 0; i++) {
		r = &s->rcpts[i];
		st = rcpt_state(r);
		o = json_object_new_object();
		cli_json_text(o, "message_id", s->message_id);
		cli_json_text(o, "recipient", r->name);
		cli_json_text(o, "role", r->role);
		cli_json_text(o, "state", state_names[st]);
		cli_json_text(o, "route", r->decision != NULL ?
		    r->decision->route : NULL);
		json_object_object_add(o, "reached",
		    json_object_new_boolean(reached(r)));
		add_time(o, "decided_at", r->decision);
		add_time(o, "acknowledged_at", r->ack);
		json_object_object_add(o, "replays",
		    json_object_new_int64((int64_t)r->nreplay));
		add_time(o, "lost_at", r->lost);
		add_time(o, "withdrawn_at", r->withdrawn);
		json_object_object_add(o, "fields_shared", r->last != NULL ?
		    cli_json_strings(r->last->fields_shared,
		    r->last->n_fields_shared) : NULL);
		json_object_object_add(o, "fields_withheld", r->last != NULL ?
		    cli_json_strings(r->last->fields_withheld,
		    r->last->n_fields_withheld) : NULL);
		/* The rule of the latest decision. */
		cli_json_text(o, "rule", st == ST_REFUSED ||
		    st == ST_REFUSED_REPLAY ? r->refused->rule :
		    r->last != NULL ? r->last->rule : NULL);
		add_time(o, "refused_at", r->refused);
		cli_json_text(o, "reason",
		    r->refused != NULL ? r->refused->reason : NULL);
		rc = cli_json_line(o);
		json_object_put(o);
	}
	/* Then one line per correction or retraction. */
	for (i = 0; i < s->nwithdrawals && rc == 0; i++) {
		o = json_object_new_object();
		cli_json_text(o, "message_id", s->message_id);
		cli_json_text(o, s->withdrawals[i]->kind ==
		    NWD__V1__KIND__RETRACTION ? "retracted_by" :
		    "corrected_by", s->withdrawals[i]->message_id);
		add_time(o, "at", s->withdrawals[i]);
		rc = cli_json_line(o);
		json_object_put(o);
	}
	/* Then one line per deadline the message set. */
	for (i = 0; i < s->nclocks && rc == 0; i++) {
		const Nwd__V1__AuditEvent	*set = s->clocks[i], *e;
		const Nwd__V1__AuditEvent	*met = NULL;
		size_t				 k, nesc = 0;
		int				 breached = 0;

		if (strcmp(set->action, "deadline_set") != 0)
			continue;
		for (k = 0; k < s->nclocks; k++) {
			e = s->clocks[k];
			if (strcmp(e->rule, set->rule) != 0)
				continue;
			if (strcmp(e->action, "deadline_met") == 0)
				met = e;
			else if (strcmp(e->action, "escalated") == 0)
				nesc++;
			else if (strcmp(e->action, "deadline_breached") == 0)
				breached = 1;
		}
		o = json_object_new_object();
		cli_json_text(o, "message_id", s->message_id);
		cli_json_text(o, "deadline", set->rule);
		cli_json_text(o, "set", set->reason);
		add_time(o, "set_at", set);
		cli_json_text(o, "state", met != NULL ? "met" : breached ?
		    "breached" : "open");
		cli_json_text(o, "met", met != NULL ? met->reason : NULL);
		add_time(o, "met_at", met);
		json_object_object_add(o, "escalations",
		    json_object_new_int64((int64_t)nesc));
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
	    "recipient (null where not shown), role, state (live,\n"
	    "queued, live_and_queued, delivered, not_reachable,\n"
	    "lost, withdrawn, refused_at_replay, refused),\n"
	    "route, reached, decided_at, acknowledged_at,\n"
	    "replays, lost_at, withdrawn_at, fields_shared,\n"
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
	    "broker's audit trail:\nhow each recipient was reached, which "
	    "fields were withheld from it, whether\nit has acknowledged "
	    "receipt, and who was refused it and why.  Any principal\nmay "
	    "ask, about the messages it published itself: a message somebody "
	    "else\npublished is \"not found\", as one that does not exist.  "
	    "The broker records\nevery question in its audit trail.  The "
	    "policy's status lines say whose\nnames we see (by default those "
	    "of our own agency): another recipient is\nshown by its role, as "
	    "\"a hub_system\", and reasons about others are not\ngiven.\n\n"
	    "The summary counts recipients by state, then by role and state.  "
	    "The table\nhas one line per recipient.  STATE is how it was "
	    "reached: \"reached live\"\n(a session of its took the message), "
	    "\"queued\" (a durable subscription of\nits holds it until its "
	    "client reconnects; \"replayed\" once sent), \"live and\n"
	    "queued\", \"not reachable\" (the policy allows it, but it had "
	    "no session and\nno durable subscription: it did not get the "
	    "message), \"lost\" (decided live,\nits session ended before the "
	    "send, no queue holds it), \"withdrawn\" (its\ndurable "
	    "subscription was deleted first), or \"refused at replay\".  "
	    "REACHED\nAT is when it was reached, \"-\" if it was not; "
	    "ACKNOWLEDGED AT when its\nclient acknowledged receipt, or \"not "
	    "yet\"; WITHHELD the fields removed for\nit under the sharing "
	    "policy.  Refusals follow, each with its time, the\npolicy's "
	    "reason where we may see it, and the rule.\n\nOptions:\n",
	.more = "\nExit status 1 with ERROR_NOT_FOUND: no message of ours has "
	    "that id.\n",
	.width = 20,
};
