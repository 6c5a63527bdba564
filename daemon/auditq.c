/*
 * auditq: an auditor's AuditQuery, answered from the audit trail; and a
 * publisher's delivery status, the one AuditQuery any role may send.
 *
 * The shape is explain.c's: read what the answer needs, audit the question
 * (an audit_query row, plus one per message body opened for a
 * subject-access request), and send the answer only once those rows have
 * committed.  Nothing is sent if the rows cannot be written.
 *
 * A page is bounded twice: by the query's limit on audit rows, and by the
 * frame the answer must fit in (max_frame, and half the output cap).  A page
 * that would be too large is cut short and its next_page_token continues
 * where it stopped, so a client that follows tokens gets everything.
 *
 * Paging is by row id (and, while a subject-access query is still sending
 * messages, by message id).  The first page fixes a time bound (until, or
 * now if that is earlier) that every later page carries in its token: a
 * paged query sees the trail as it was when it began, and terminates even
 * though each page adds an audit_query row that may match its own filter.
 *
 * A delivery status (AuditQuery.delivery_status) reads the same way, with
 * the filter restricted: the message's publish, deliver, deliver_refused
 * and ack rows, and only if the caller published the message.  Each row
 * is cut down to what the publisher may see (publisher_view()).  A message
 * that does not exist and one that somebody else published get the same
 * answer, "not found", and the question is an audit_query row either way.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "audit.h"
#include "auditq.h"
#include "clock.h"
#include "config.h"
#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"
#include "utf8.h"

#define AUDITQ_ROLE		"auditor"
#define AUDITQ_DEFAULT_LIMIT	100
#define AUDITQ_MAX_LIMIT	1000
#define AUDITQ_MAX_NAME		128	/* bytes in a principal or action */
/* Audit rows read about one message of a subject-access request. */
#define AUDITQ_MESSAGE_ROWS	10000
/* Messages read at once for a subject-access page (the frame cuts it). */
#define AUDITQ_MESSAGE_BATCH	500
/* What a Frame adds around its AuditPage, and the page around its token. */
#define AUDITQ_FRAME_SLACK	128

enum stage {
	STAGE_MESSAGES,		/* subject access: the messages, then rows */
	STAGE_EVENTS,		/* audit rows after after_id */
};

/* A query in progress; answered once its audit rows have committed. */
struct auditq_job {
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;	/* the auditor; may be gone */
	uint64_t		 request_id;
	auditq_page_fn		*cb;		/* not a session: the answer
						   goes here, once */
	void			*cb_arg;
	char			*actor;		/* the auditor's id */
	char			*session_name;
	char			*peer;

	/* The filter, owned copies; NULL does not filter. */
	char			*subject;
	char			*principal;
	char			*action;
	char			*message_id;
	int64_t			 from_ms;
	int64_t			 until_ms;	/* the bound fixed by page one */
	uint32_t		 limit;
	int			 subject_access;
	char			*sender;	/* delivery status: the caller */
	int			 first_page;	/* no page token was given */

	enum stage		 stage;
	int64_t			 after_id;	/* events after this row id */
	char			 after_mid[ENVELOPE_UUID_LEN + 1];

	size_t			 budget;	/* bytes the page may hold */
	size_t			 used;
	Nwd__V1__AuditPage	*page;		/* owned */

	/* Subject access: messages waiting for their audit rows. */
	Nwd__V1__SarMessage	**cand;		/* owned */
	size_t			 ncand, next_cand;
	int			 more_messages;	/* rows beyond the candidates */
	int			 cut;		/* a message did not fit */
	/*
	 * Subject access: the first message that went without some of its
	 * rows; the rows that name the subject then include those of it and
	 * of every message after it (store_audit_filter.held_from), and the
	 * message says so (SarMessage.rows_cut).  Carried by the page token
	 * ("a" ID ":" before it) to every later page; "" if none.
	 */
	char			 cut_mid[ENVELOPE_UUID_LEN + 1];

	size_t			 nrows;		/* subject rows sent */
	Nwd__V1__ErrorCode	 code;		/* 0 = answered */
	char			 error[320];
	char			 what[600];	/* the filter, described */
};

static void	job_messages(int, const struct store_result *, void *);
static void	job_message_events(int, const struct store_result *, void *);
static void	job_events(int, const struct store_result *, void *);
static void	job_next_message(struct auditq_job *);
static void	job_start_events(struct auditq_job *);
static int	job_start(struct auditq_job *);
static void	job_finish(struct auditq_job *);


/* Copies at most max bytes of s, printable ASCII only, for logs and rows. */
static void
printable(char *out, size_t outlen, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max && i + 1 < outlen; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ?
		    s[i] : '?';
	out[i] = '\0';
}

static void
append(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *out, size_t outlen, const char *fmt, ...)
{
	size_t	len = strlen(out);
	va_list	ap;

	if (len + 1 >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
}

/*
 * "audit query subject=YP-001 action=deliver limit=100 page=12@1700..."
 * or "subject access YP-001 ...", from what the client sent.
 */
static void
describe(const Nwd__V1__AuditQuery *q, char *out, size_t outlen)
{
	char v[AUDITQ_MAX_NAME + 1];

	if (q->delivery_status)
		snprintf(out, outlen, "delivery status");
	else if (q->subject_access) {
		printable(v, sizeof(v), q->subject, ENVELOPE_MAX_SUBJECT);
		snprintf(out, outlen, "subject access %s", v[0] != '\0' ? v :
		    "-");
	} else
		snprintf(out, outlen, "audit query");
	if (!q->subject_access && q->subject[0] != '\0') {
		printable(v, sizeof(v), q->subject, ENVELOPE_MAX_SUBJECT);
		append(out, outlen, " subject=%s", v);
	}
	if (q->principal[0] != '\0') {
		printable(v, sizeof(v), q->principal, AUDITQ_MAX_NAME);
		append(out, outlen, " principal=%s", v);
	}
	if (q->action[0] != '\0') {
		printable(v, sizeof(v), q->action, AUDITQ_MAX_NAME);
		append(out, outlen, " action=%s", v);
	}
	if (q->message_id[0] != '\0') {
		printable(v, sizeof(v), q->message_id, ENVELOPE_UUID_LEN);
		append(out, outlen, " message=%s", v);
	}
	if (q->from_unix_ms != 0)
		append(out, outlen, " from=%" PRId64, q->from_unix_ms);
	if (q->until_unix_ms != 0)
		append(out, outlen, " until=%" PRId64, q->until_unix_ms);
	append(out, outlen, " limit=%u", q->limit == 0 ? AUDITQ_DEFAULT_LIMIT :
	    q->limit > AUDITQ_MAX_LIMIT ? AUDITQ_MAX_LIMIT : q->limit);
	if (q->page_token[0] != '\0') {
		printable(v, sizeof(v), q->page_token, 64);
		append(out, outlen, " page=%s", v);
	}
}

/* ------------------------------------------------------------------------
 * Building the page
 */

static char *
xstrdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static int
parse_i64(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* "a,b" into a new array of owned strings; "" or NULL into none. */
static int
split_list(const char *s, char ***out, size_t *n)
{
	const char	*p, *comma;
	size_t		 count = 1, i = 0;
	char		**v;

	*out = NULL;
	*n = 0;
	if (s == NULL || *s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		count += *p == ',';
	if ((v = calloc(count, sizeof(*v))) == NULL)
		return -1;
	*out = v;	/* freed with the event, even half-filled */
	for (p = s; i < count; i++) {
		comma = strchr(p, ',');
		if ((v[i] = strndup(p, comma != NULL ? (size_t)(comma - p) :
		    strlen(p))) == NULL)
			return -1;
		*n = i + 1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Frees *slot and leaves the empty string in its place. */
static void
blank(char **slot)
{
	if (*slot != protobuf_c_empty_string)
		free(*slot);
	*slot = (char *)protobuf_c_empty_string;
}

/*
 * What the publisher of a message may see of a row about it: when, what,
 * which fields and how it was reached; who received it by name or by role,
 * and the reason of a decision, as the policy's status lines say (by
 * default names within the publisher's agency, no reasons about others:
 * a keyworker must not learn that CAMHS is involved with a child).  Not
 * who else acted, on which broker instance, under which policy version,
 * nor the row's place in the chain.  The recipient's role is from the
 * mapping in force now; a recipient no longer in it shows no role.
 */
static void
publisher_view(const struct auditq_job *j, Nwd__V1__AuditEvent *e)
{
	const struct principal		*me, *rcpt = NULL;
	enum policy_status_scope	 names, reasons;
	int				 same, own;

	e->seq = 0;
	blank(&e->instance);
	/* Who met a deadline is named as a recipient would be. */
	if (strcmp(e->action, "deadline_met") == 0 && e->actor[0] != '\0') {
		char why[300];

		me = identity_find_id(j->srv->ids, j->sender);
		rcpt = identity_find_id(j->srv->ids, e->actor);
		same = strcmp(e->actor, j->sender) == 0 || (me != NULL &&
		    rcpt != NULL && strcmp(me->agency, rcpt->agency) == 0);
		names = policy_status_names(j->srv->policy);
		if (!(names == POLICY_STATUS_ALL ||
		    (names == POLICY_STATUS_AGENCY && same))) {
			snprintf(why, sizeof(why), "met by a %s",
			    rcpt != NULL ? rcpt->role : "principal no longer "
			    "mapped");
			blank(&e->reason);
			if ((e->reason = strdup(why)) == NULL)
				e->reason = (char *)protobuf_c_empty_string;
		}
	}
	blank(&e->actor);
	blank(&e->subject);
	blank(&e->policy_version);
	if (e->recipient[0] == '\0')
		return;
	me = identity_find_id(j->srv->ids, j->sender);
	rcpt = identity_find_id(j->srv->ids, e->recipient);
	if (rcpt != NULL && (e->recipient_role = strdup(rcpt->role)) == NULL)
		e->recipient_role = (char *)protobuf_c_empty_string;
	own = strcmp(e->recipient, j->sender) == 0;
	same = own || (me != NULL && rcpt != NULL &&
	    strcmp(me->agency, rcpt->agency) == 0);
	names = policy_status_names(j->srv->policy);
	reasons = policy_status_reasons(j->srv->policy);
	if (!own && !(names == POLICY_STATUS_ALL ||
	    (names == POLICY_STATUS_AGENCY && same)))
		blank(&e->recipient);
	/* An ack's reason is the recipient's durable subscription. */
	if (!own && !(reasons == POLICY_STATUS_ALL ||
	    (reasons == POLICY_STATUS_AGENCY && same)))
		blank(&e->reason);
}

/* One row of store_query_audit() as an AuditEvent; NULL if out of memory. */
static Nwd__V1__AuditEvent *
row_event(const struct store_result *r, size_t row)
{
	Nwd__V1__AuditEvent	*e;
	int64_t			 v;

	if ((e = malloc(sizeof(*e))) == NULL)
		return NULL;
	nwd__v1__audit_event__init(e);
	if (parse_i64(store_result_value(r, row, 0), &v) == 0)
		e->id = v;
	if (parse_i64(store_result_value(r, row, 2), &v) == 0)
		e->seq = v;
	if (parse_i64(store_result_value(r, row, 3), &v) == 0)
		e->at_unix_ms = v;
	if (parse_i64(store_result_value(r, row, 8), &v) == 0 &&
	    envelope_kind_name((Nwd__V1__Kind)v) != NULL)
		e->kind = (Nwd__V1__Kind)v;
	if ((e->instance = xstrdup(store_result_value(r, row, 1))) == NULL ||
	    (e->actor = xstrdup(store_result_value(r, row, 4))) == NULL ||
	    (e->action = xstrdup(store_result_value(r, row, 5))) == NULL ||
	    (e->message_id = xstrdup(store_result_value(r, row, 6))) == NULL ||
	    (e->subject = xstrdup(store_result_value(r, row, 7))) == NULL ||
	    (e->recipient = xstrdup(store_result_value(r, row, 9))) == NULL ||
	    split_list(store_result_value(r, row, 10), &e->fields_shared,
	    &e->n_fields_shared) == -1 ||
	    split_list(store_result_value(r, row, 11), &e->fields_withheld,
	    &e->n_fields_withheld) == -1 ||
	    (e->rule = xstrdup(store_result_value(r, row, 12))) == NULL ||
	    (e->policy_version = xstrdup(store_result_value(r, row,
	    13))) == NULL ||
	    (e->reason = xstrdup(store_result_value(r, row, 14))) == NULL ||
	    (e->route = xstrdup(store_result_value(r, row, 15))) == NULL) {
		protobuf_c_message_free_unpacked(&e->base, NULL);
		return NULL;
	}
	return e;
}

/* Bytes an element of a repeated message field adds to its parent. */
static size_t
element_size(size_t len)
{
	size_t n = 1;	/* the tag of fields 1..15 */

	do {
		n++;
		len >>= 7;
	} while (len != 0);
	return n;
}

static size_t
event_size(const Nwd__V1__AuditEvent *e)
{
	size_t len = nwd__v1__audit_event__get_packed_size(e);

	return len + element_size(len);
}

static size_t
sar_size(const Nwd__V1__SarMessage *m)
{
	size_t len = nwd__v1__sar_message__get_packed_size(m);

	return len + element_size(len);
}

static int
page_add_event(Nwd__V1__AuditPage *p, Nwd__V1__AuditEvent *e)
{
	Nwd__V1__AuditEvent **v;

	if ((v = reallocarray(p->events, p->n_events + 1, sizeof(*v))) ==
	    NULL)
		return -1;
	p->events = v;
	v[p->n_events++] = e;
	return 0;
}

static int
page_add_message(Nwd__V1__AuditPage *p, Nwd__V1__SarMessage *m)
{
	Nwd__V1__SarMessage **v;

	if ((v = reallocarray(p->messages, p->n_messages + 1,
	    sizeof(*v))) == NULL)
		return -1;
	p->messages = v;
	v[p->n_messages++] = m;
	return 0;
}

static void
sar_free(Nwd__V1__SarMessage *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* Replaces a string member that is empty with a copy of value. */
static int
fill(char **slot, const char *value)
{
	char *s;

	if (value == NULL || **slot != '\0')
		return 0;
	if ((s = strdup(value)) == NULL)
		return -1;
	/* An empty string is the shared default or an allocated "". */
	if (*slot != protobuf_c_empty_string)
		free(*slot);
	*slot = s;
	return 0;
}

static int
enum_value(const char *s)
{
	int64_t v;

	return parse_i64(s, &v) == 0 && v >= 0 && v <= INT_MAX ? (int)v : 0;
}

/*
 * The header of a stored message from its columns: what is held when the
 * body is not (purged) or cannot be read.
 */
static Nwd__V1__Envelope *
header_envelope(const struct store_result *r, size_t row)
{
	Nwd__V1__Envelope	*env;
	Nwd__V1__Header		*h;
	Nwd__V1__SubjectRef	*subj;
	int64_t			 v;

	if ((env = malloc(sizeof(*env))) == NULL)
		return NULL;
	nwd__v1__envelope__init(env);
	if ((h = malloc(sizeof(*h))) == NULL)
		goto fail;
	nwd__v1__header__init(h);
	env->header = h;
	if ((subj = malloc(sizeof(*subj))) == NULL)
		goto fail;
	nwd__v1__subject_ref__init(subj);
	h->subject = subj;
	h->kind = enum_value(store_result_value(r, row, 1));
	h->marking = enum_value(store_result_value(r, row, 5));
	h->priority = enum_value(store_result_value(r, row, 6));
	h->legal_basis = enum_value(store_result_value(r, row, 7));
	if (parse_i64(store_result_value(r, row, 8), &v) == 0)
		h->created_unix_ms = v;
	if (fill(&h->message_id, store_result_value(r, row, 0)) == -1 ||
	    fill(&subj->local_id, store_result_value(r, row, 2)) == -1 ||
	    fill(&h->sender, store_result_value(r, row, 3)) == -1 ||
	    fill(&h->originating_agency, store_result_value(r, row, 4)) == -1)
		goto fail;
	return env;
fail:
	protobuf_c_message_free_unpacked(&env->base, NULL);
	return NULL;
}

/*
 * One stored message as a SarMessage: the body opened and decoded, or the
 * header alone with a note.
 */
/*
 * Adds to m the corrections and retraction that list names ("HOW ID AT_MS"
 * joined with commas; NULL for none).  Returns 0, or -1 if out of memory.
 * An item that does not parse is skipped: the column is the broker's own.
 */
static int
row_withdrawals(Nwd__V1__SarMessage *m, const char *list)
{
	Nwd__V1__SarWithdrawal	*w, **v;
	char			 how[16], id[ENVELOPE_UUID_LEN + 1];
	long long		 at;
	const char		*p = list;

	while (p != NULL && *p != '\0') {
		if (sscanf(p, "%15s %36s %lld", how, id, &at) == 3 &&
		    envelope_is_uuid(id)) {
			if ((w = malloc(sizeof(*w))) == NULL)
				return -1;
			nwd__v1__sar_withdrawal__init(w);
			w->retracted = strcmp(how, "retracted") == 0;
			w->at_unix_ms = at;
			if ((w->message_id = strdup(id)) == NULL ||
			    (v = reallocarray(m->withdrawn_by,
			    m->n_withdrawn_by + 1, sizeof(*v))) == NULL) {
				protobuf_c_message_free_unpacked(&w->base,
				    NULL);
				return -1;
			}
			m->withdrawn_by = v;
			m->withdrawn_by[m->n_withdrawn_by++] = w;
		}
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

static Nwd__V1__SarMessage *
row_message(struct auditq_job *j, const struct store_result *r, size_t row)
{
	const char		*mid = store_result_value(r, row, 0);
	const char		*body = store_result_value(r, row, 9);
	const char		*key_id = store_result_value(r, row, 10);
	const char		*kind = store_result_value(r, row, 1);
	struct seal_aad		 aad;
	const struct principal	*who;
	Nwd__V1__SarMessage	*m;
	Nwd__V1__Envelope	*env = NULL;
	uint8_t			*plain = NULL;
	size_t			 plen = 0;
	char			 err[160], note[256] = "";

	if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	nwd__v1__sar_message__init(m);
	if ((m->message_id = xstrdup(mid)) == NULL)
		goto fail;
	/* The body is bound to the row's id, subject and kind. */
	aad.message_id = mid;
	aad.subject = store_result_value(r, row, 2);
	aad.kind = kind != NULL ? (int)strtol(kind, NULL, 10) : 0;
	if (body == NULL || key_id == NULL)
		snprintf(note, sizeof(note), "body purged under retention");
	else if ((plain = open_body(j->srv->sealer, key_id, &aad,
	    (const uint8_t *)body, store_result_length(r, row, 9), &plen,
	    err, sizeof(err))) == NULL)
		snprintf(note, sizeof(note), "the sealed body cannot be "
		    "opened: %s", err);
	else if ((env = frame_decode_envelope(plain, plen, plen * 64 +
	    65536, err, sizeof(err))) == NULL)
		snprintf(note, sizeof(note), "the stored body does not decode: "
		    "%s", err);
	if (plain != NULL) {
		explicit_bzero(plain, plen);
		free(plain);
	}
	if (env == NULL && (env = header_envelope(r, row)) == NULL)
		goto fail;
	m->envelope = env;
	/* The broker set these before sealing; the columns say the same. */
	if (env->header != NULL && (fill(&env->header->message_id, mid) ==
	    -1 || fill(&env->header->sender, store_result_value(r, row,
	    3)) == -1 || fill(&env->header->originating_agency,
	    store_result_value(r, row, 4)) == -1))
		goto fail;
	if (note[0] != '\0' && (m->note = strdup(note)) == NULL)
		goto fail;
	if (env->header != NULL && (who = identity_find_id(j->srv->ids,
	    env->header->sender)) != NULL && fill(&m->sender_role, who->role)
	    == -1)
		goto fail;
	if (row_withdrawals(m, store_result_value(r, row, 12)) == -1)
		goto fail;
	return m;
fail:
	sar_free(m);
	return NULL;
}

/*
 * Sets e's recipient_role and recipient_agency from the principal mapping
 * now: the recipient's, or on an ack row without one, the actor's.  A
 * principal no longer mapped leaves both empty.  Returns 0, or -1 if out
 * of memory.
 */
static int
row_who(const struct auditq_job *j, Nwd__V1__AuditEvent *e)
{
	const struct principal	*p;
	const char		*id = e->recipient;

	if (id[0] == '\0' && strcmp(e->action, "ack") == 0)
		id = e->actor;
	if (id[0] == '\0' || (p = identity_find_id(j->srv->ids, id)) == NULL)
		return 0;
	if (fill(&e->recipient_role, p->role) == -1 ||
	    fill(&e->recipient_agency, p->agency) == -1)
		return -1;
	return 0;
}

/* Replaces m's note with "note; more" (or more alone). */
static int
add_note(Nwd__V1__SarMessage *m, const char *more)
{
	char	 note[640];

	snprintf(note, sizeof(note), "%s%s%s", m->note, m->note[0] != '\0' ?
	    "; " : "", more);
	if (m->note != protobuf_c_empty_string)
		free(m->note);
	if ((m->note = strdup(note)) == NULL) {
		m->note = (char *)protobuf_c_empty_string;
		return -1;
	}
	return 0;
}

/* Room kept for the notes shrink_message() adds (each < 128 bytes). */
#define AUDITQ_NOTE_ROOM	256

/*
 * Makes m fit in room: first by dropping its last audit rows (the rows
 * that name the subject still come in the rows of the query), then, if it
 * is still too large, its body; a note says which.  Returns -1 if even
 * that does not fit.
 */
static int
shrink_message(Nwd__V1__SarMessage *m, size_t room, uint32_t max_frame)
{
	Nwd__V1__Envelope	*env = m->envelope;
	ProtobufCMessage	*body;
	size_t			 total = m->n_events;
	int			 nobody = 0;
	char			 note[256];

	if (room < AUDITQ_NOTE_ROOM)
		return -1;
	room -= AUDITQ_NOTE_ROOM;
	while (sar_size(m) > room && m->n_events > 0) {
		m->n_events--;
		protobuf_c_message_free_unpacked(&m->events[m->n_events]->base,
		    NULL);
	}
	if (sar_size(m) > room && env != NULL &&
	    env->body_case != NWD__V1__ENVELOPE__BODY__NOT_SET) {
		/* The body members share one pointer in the oneof. */
		body = (ProtobufCMessage *)env->intelligence_report;
		protobuf_c_message_free_unpacked(body, NULL);
		env->intelligence_report = NULL;
		env->body_case = NWD__V1__ENVELOPE__BODY__NOT_SET;
		nobody = 1;
	}
	if (sar_size(m) > room)
		return -1;
	if (m->n_events < total) {
		snprintf(note, sizeof(note), "only the first %zu of its %zu "
		    "audit rows fit in one frame (max_frame %u bytes); query by "
		    "message id for the rest", m->n_events, total, max_frame);
		if (add_note(m, note) == -1)
			return -1;
	}
	if (nobody) {
		snprintf(note, sizeof(note), "body omitted: the message is "
		    "too large for one frame (max_frame %u bytes)", max_frame);
		if (add_note(m, note) == -1)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The job
 */

static void
job_free(struct auditq_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = j->next_cand; i < j->ncand; i++)
		sar_free(j->cand[i]);
	free(j->cand);
	if (j->page != NULL)
		protobuf_c_message_free_unpacked(&j->page->base, NULL);
	free(j->actor);
	free(j->session_name);
	free(j->peer);
	free(j->subject);
	free(j->principal);
	free(j->action);
	free(j->message_id);
	free(j->sender);
	free(j);
}

/* Ends the reading with an error, which is audited and then answered. */
static void
job_fail(struct auditq_job *j, Nwd__V1__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
job_fail(struct auditq_job *j, Nwd__V1__ErrorCode code, const char *fmt, ...)
{
	va_list ap;

	j->code = code;
	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
	job_finish(j);
}

/* The error of a query that returned nothing. */
static void
job_query_failed(struct auditq_job *j, const char *what)
{
	if (store_get_state(j->srv->store) != STORE_READY)
		job_fail(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
		    "store became unavailable while reading %s; try again "
		    "later", what);
	else
		job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL, "the audit "
		    "store could not read %s", what);
}

/* 1 if the auditor's session is gone: the job is then freed. */
static int
job_orphaned(struct auditq_job *j)
{
	if (j->cb != NULL || session_find(j->srv, j->session_id) != NULL)
		return 0;
	log_info("principal=%s event=audit_query_abandoned reason=\"session "
	    "gone\" query=\"%s\"", j->actor, j->what);
	job_free(j);
	return 1;
}

static void
job_messages(int ok, const struct store_result *r, void *arg)
{
	struct auditq_job	*j = arg;
	Nwd__V1__SarMessage	*m, **v;
	size_t			 i = 0, n, size = 0;

	if (job_orphaned(j))
		return;
	if (!ok) {
		job_query_failed(j, "the messages about the subject");
		return;
	}
	n = store_result_nrows(r);
	if (j->after_mid[0] != '\0') {
		for (i = 0; i < n; i++)
			if (strcmp(store_result_value(r, i, 0),
			    j->after_mid) == 0)
				break;
		if (i == n) {
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND,
			    "the page token names no message about this "
			    "subject");
			return;
		}
		i++;
	}
	/*
	 * Candidates while they fit without their audit rows; those come
	 * next, one query per message, and may push the last ones out.
	 */
	for (; i < n; i++) {
		if (j->ncand > 0 && j->used + size >= j->budget)
			break;
		if ((m = row_message(j, r, i)) == NULL ||
		    (v = reallocarray(j->cand, j->ncand + 1,
		    sizeof(*v))) == NULL) {
			sar_free(m);
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
			return;
		}
		j->cand = v;
		j->cand[j->ncand++] = m;
		size += sar_size(m);
	}
	/* A full batch may have more behind it: the token goes on. */
	j->more_messages = i < n ||
	    n >= AUDITQ_MESSAGE_BATCH + (j->after_mid[0] != '\0');
	job_next_message(j);
}

/* Reads the audit rows of the next candidate, or ends the messages. */
static void
job_next_message(struct auditq_job *j)
{
	struct store_audit_filter f;

	if (j->cut || j->next_cand == j->ncand) {
		if (j->cut || j->more_messages)
			job_finish(j);	/* the token goes on with messages */
		else
			job_start_events(j);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.message_id = j->cand[j->next_cand]->message_id;
	f.until_ms = j->until_ms;
	f.limit = AUDITQ_MESSAGE_ROWS;
	if (store_query_audit(j->srv->store, &f, job_message_events, j) ==
	    -1)
		job_fail(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
		    "store is unavailable or busy; try again later");
}

static void
job_message_events(int ok, const struct store_result *r, void *arg)
{
	struct auditq_job	*j = arg;
	Nwd__V1__SarMessage	*m;
	Nwd__V1__AuditEvent	*e;
	size_t			 i, n, size;
	char			 note[256];

	if (job_orphaned(j))
		return;
	if (!ok) {
		job_query_failed(j, "the audit rows of a message");
		return;
	}
	m = j->cand[j->next_cand];
	n = store_result_nrows(r);
	if (n > 0 && (m->events = calloc(n, sizeof(*m->events))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((e = row_event(r, i)) == NULL)
			goto nomem;
		m->events[m->n_events++] = e;
		if (row_who(j, e) == -1)
			goto nomem;
	}
	if (n >= AUDITQ_MESSAGE_ROWS) {
		m->rows_cut = 1;
		snprintf(note, sizeof(note), "only the first %d audit rows of "
		    "this message are included; query by message id for the "
		    "rest", AUDITQ_MESSAGE_ROWS);
		if (add_note(m, note) == -1)
			goto nomem;
	}
	size = sar_size(m);
	if (j->used + size > j->budget) {
		if (j->page->n_messages > 0) {
			/* It opens the next page. */
			j->cut = 1;
			job_next_message(j);
			return;
		}
		if (shrink_message(m, j->budget - j->used,
		    j->srv->cfg->max_frame) == -1) {
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_LIMIT, "message "
			    "%s does not fit in one frame (max_frame %u "
			    "bytes), even without its body and audit rows",
			    m->message_id, j->srv->cfg->max_frame);
			return;
		}
		size = sar_size(m);
		if (m->n_events < n)
			m->rows_cut = 1;
	}
	/* The rows it went without come among the subject's rows. */
	if (m->rows_cut && j->cut_mid[0] == '\0')
		snprintf(j->cut_mid, sizeof(j->cut_mid), "%s", m->message_id);
	if (page_add_message(j->page, m) == -1)
		goto nomem;
	j->cand[j->next_cand++] = NULL;
	j->used += size;
	job_next_message(j);
	return;
nomem:
	job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
}

static void
job_start_events(struct auditq_job *j)
{
	j->stage = STAGE_EVENTS;
	j->after_id = 0;	/* after the messages, every row */
	if (job_start(j) == -1)
		job_fail(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
		    "store is unavailable or busy; try again later");
}

static void
job_events(int ok, const struct store_result *r, void *arg)
{
	struct auditq_job	*j = arg;
	Nwd__V1__AuditEvent	*e;
	size_t			 i, n, size;
	char			 token[128];

	if (job_orphaned(j))
		return;
	if (!ok) {
		job_query_failed(j, "the audit rows");
		return;
	}
	n = store_result_nrows(r);
	/* Every message has its publish row: none, and it is not theirs. */
	if (n == 0 && j->sender != NULL && j->first_page) {
		job_fail(j, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "message %s "
		    "was not found, or was not published by you", j->message_id);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((e = row_event(r, i)) == NULL) {
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
			return;
		}
		if (j->sender != NULL)
			publisher_view(j, e);
		size = event_size(e);
		if (j->used + size > j->budget) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			if (j->page->n_events == 0 &&
			    j->page->n_messages == 0) {
				job_fail(j, NWD__V1__ERROR_CODE__ERROR_LIMIT,
				    "audit row %s does not fit in one frame "
				    "(max_frame %u bytes)",
				    store_result_value(r, i, 0),
				    j->srv->cfg->max_frame);
				return;
			}
			break;
		}
		if (page_add_event(j->page, e) == -1) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
			return;
		}
		j->used += size;
		j->after_id = e->id;
	}
	j->nrows = j->page->n_events;
	/* Cut short by the frame, or a full page: there may be more. */
	if (i < n || n >= j->limit) {
		snprintf(token, sizeof(token), "%s%s%s%" PRId64 "@%" PRId64,
		    j->cut_mid[0] != '\0' ? "a" : "", j->cut_mid,
		    j->cut_mid[0] != '\0' ? ":" : "", j->after_id, j->until_ms);
		if ((j->page->next_page_token = strdup(token)) == NULL) {
			job_fail(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
			return;
		}
	}
	job_finish(j);
}

/* ------------------------------------------------------------------------
 * Auditing and answering
 */

static struct audit_event *
query_event(const struct auditq_job *j, const char *reason)
{
	struct audit_event	*ev;
	struct trail_origin	 o = { j->session_name, j->peer };

	if ((ev = trail_event(&o, AUDIT_AUDIT_QUERY, j->actor)) == NULL)
		return NULL;
	if (audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
	    (j->subject != NULL && audit_event_set(ev, AUDIT_F_SUBJECT,
	    j->subject) == -1)) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

static void
job_done(enum store_outcome outcome, void *arg)
{
	struct auditq_job	*j = arg;
	struct session		*s;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;

	if (j->cb != NULL) {
		if (outcome != STORE_COMMITTED)
			j->cb(NULL, "the audit store did not record the "
			    "query, so it is not answered", j->cb_arg);
		else
			j->cb(j->code != 0 ? NULL : j->page, j->code != 0 ?
			    j->error : NULL, j->cb_arg);
		job_free(j);
		return;
	}
	if ((s = session_find(j->srv, j->session_id)) == NULL) {
		job_free(j);
		return;
	}
	if (outcome != STORE_COMMITTED)
		session_send_error(s, j->request_id, outcome == STORE_FAILED ?
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL :
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "audit query not "
		    "answered: the audit store did not record the query");
	else if (j->code != 0)
		session_send_error(s, j->request_id, j->code, "%s: %s",
		    j->sender != NULL ? "delivery status" : "audit query",
		    j->error);
	else {
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_AUDIT_PAGE;
		f.audit_page = j->page;
		if (session_send(s, &f) == 0)
			session_log(info, s, "event=audit_query "
			    "query=\"%s\" rows=%zu messages=%zu more=%d", j->what,
			    j->page->n_events, j->page->n_messages,
			    j->page->next_page_token[0] != '\0');
	}
	job_free(j);
}

/* Answers with an error that was not audited (the store, memory), to
 * the session or the callback; frees j. */
static void
job_abort(struct auditq_job *j, Nwd__V1__ErrorCode code, const char *why)
{
	struct session *s;

	if (j->cb != NULL)
		j->cb(NULL, why, j->cb_arg);
	else if ((s = session_find(j->srv, j->session_id)) != NULL)
		session_send_error(s, j->request_id, code, "%s", why);
	job_free(j);
}

/*
 * The reading is over (answered or failed): records the query, and for a
 * subject-access page each body opened, then answers once they commit.
 */
static void
job_finish(struct auditq_job *j)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__SarMessage	*m;
	struct store_batch	*batch;
	struct audit_event	*ev;
	char			 reason[1024], token[128];
	size_t			 i;

	if (j->code == 0 && j->stage == STAGE_MESSAGES &&
	    j->page->n_messages > 0) {
		/* Messages remain: the next page goes on after the last. */
		m = j->page->messages[j->page->n_messages - 1];
		snprintf(token, sizeof(token), "%s%s%sm%s@%" PRId64,
		    j->cut_mid[0] != '\0' ? "a" : "", j->cut_mid,
		    j->cut_mid[0] != '\0' ? ":" : "", m->message_id,
		    j->until_ms);
		if ((j->page->next_page_token = strdup(token)) == NULL) {
			j->code = NWD__V1__ERROR_CODE__ERROR_INTERNAL;
			snprintf(j->error, sizeof(j->error), "out of memory");
		}
	}
	if (j->code == 0) {
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_AUDIT_PAGE;
		f.audit_page = j->page;
		if (nwd__v1__frame__get_packed_size(&f) >
		    j->srv->cfg->max_frame) {
			/* The budget should have kept it below. */
			j->code = NWD__V1__ERROR_CODE__ERROR_INTERNAL;
			snprintf(j->error, sizeof(j->error), "the page exceeds "
			    "max_frame");
		}
	}
	if (j->code != 0)
		snprintf(reason, sizeof(reason), "%s; not answered: %s",
		    j->what, j->error);
	else if (j->subject_access)
		snprintf(reason, sizeof(reason), "%s; answered %zu messages, "
		    "%zu rows", j->what, j->page->n_messages,
		    j->page->n_events);
	else
		snprintf(reason, sizeof(reason), "%s; answered %zu rows",
		    j->what, j->page->n_events);
	if ((batch = store_batch_new()) == NULL ||
	    (ev = query_event(j, reason)) == NULL ||
	    store_batch_add_event(batch, ev) == -1)
		goto nomem;
	/* Every body opened for the auditor is an access on record. */
	for (i = 0; j->code == 0 && i < j->page->n_messages; i++) {
		m = j->page->messages[i];
		if (m->envelope == NULL || m->envelope->body_case ==
		    NWD__V1__ENVELOPE__BODY__NOT_SET)
			continue;
		snprintf(reason, sizeof(reason), "body opened for the "
		    "subject-access request on %s", j->subject);
		if ((ev = query_event(j, reason)) == NULL)
			goto nomem;
		if (m->envelope->header != NULL &&
		    envelope_kind_name(m->envelope->header->kind) != NULL)
			ev->kind = m->envelope->header->kind;
		if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, m->message_id) ==
		    -1) {
			audit_event_free(ev);
			goto nomem;
		}
		if (store_batch_add_event(batch, ev) == -1)
			goto nomem;
	}
	if (store_submit(j->srv->store, batch, job_done, j) == -1) {
		store_batch_free(batch);
		job_abort(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
		    "audit store is unavailable or full, so the query cannot "
		    "be recorded; try again later");
	}
	return;
nomem:
	store_batch_free(batch);
	job_abort(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL, "audit query "
	    "failed: out of memory");
}

/* ------------------------------------------------------------------------
 * The request
 */

/* Parses "ID[@UNTIL]" or "mUUID[@UNTIL]" into j; -1 if malformed. */
static int
parse_token(struct auditq_job *j, const char *token, int64_t *pin)
{
	char		 buf[128], *at;
	int64_t		 v;

	*pin = 0;
	if (strlen(token) >= sizeof(buf))
		return -1;
	if (token[0] == 'a') {
		if (!j->subject_access || strlen(token) < ENVELOPE_UUID_LEN + 2 ||
		    token[ENVELOPE_UUID_LEN + 1] != ':')
			return -1;
		memcpy(j->cut_mid, token + 1, ENVELOPE_UUID_LEN);
		j->cut_mid[ENVELOPE_UUID_LEN] = '\0';
		if (!envelope_is_uuid(j->cut_mid))
			return -1;
		token += ENVELOPE_UUID_LEN + 2;
	}
	snprintf(buf, sizeof(buf), "%s", token);
	if ((at = strchr(buf, '@')) != NULL) {
		*at++ = '\0';
		if (parse_i64(at, pin) == -1 || *pin <= 0)
			return -1;
	}
	if (buf[0] == 'm') {
		if (!j->subject_access || !envelope_is_uuid(buf + 1))
			return -1;
		memcpy(j->after_mid, buf + 1, ENVELOPE_UUID_LEN);
		j->after_mid[ENVELOPE_UUID_LEN] = '\0';
		j->stage = STAGE_MESSAGES;
		return 0;
	}
	if (buf[0] < '0' || buf[0] > '9' || parse_i64(buf, &v) == -1 || v < 0)
		return -1;
	j->after_id = v;
	j->stage = STAGE_EVENTS;
	return 0;
}

/* A filter value: at most max bytes of UTF-8 without control
 * characters (C1 ones included); it may reach the query's audit row. */
static int
name_ok(const char *s, size_t max)
{
	return strlen(s) <= max && utf8_valid_str(s, NULL) &&
	    !utf8_has_control(s);
}

/* Checks q; 0, or -1 with the error in err. */
static int
check_query(const Nwd__V1__AuditQuery *q, char *err, size_t errlen)
{
	enum audit_action a;

	if (q->subject[0] != '\0' && !name_ok(q->subject,
	    ENVELOPE_MAX_SUBJECT)) {
		snprintf(err, errlen, "subject is not a subject id (1 to %d "
		    "printable bytes)", ENVELOPE_MAX_SUBJECT);
		return -1;
	}
	if (!name_ok(q->principal, AUDITQ_MAX_NAME)) {
		snprintf(err, errlen, "principal is not a principal id");
		return -1;
	}
	if (q->action[0] != '\0' && audit_action_from_name(q->action,
	    &a) == -1) {
		snprintf(err, errlen, "unknown action; one of connect, "
		    "auth_refused, publish, publish_refused, deliver, "
		    "deliver_refused, ack, subscribe, audit_query, "
		    "policy_loaded, purge, protocol_error, disconnect, "
		    "tls_loaded, tls_reload_refused, deliver_lost, "
		    "deliver_withdrawn, durable_deleted, principals_loaded, "
		    "principal_changed, reload_refused");
		return -1;
	}
	if (q->message_id[0] != '\0' && !envelope_is_uuid(q->message_id)) {
		snprintf(err, errlen, "message_id is not a UUID");
		return -1;
	}
	if (q->from_unix_ms < 0 || q->until_unix_ms < 0 ||
	    (q->from_unix_ms != 0 && q->until_unix_ms != 0 &&
	    q->from_unix_ms >= q->until_unix_ms)) {
		snprintf(err, errlen, "the time range is empty or negative "
		    "(from is inclusive, until exclusive)");
		return -1;
	}
	if (q->delivery_status && q->subject_access) {
		snprintf(err, errlen, "a query is a subject-access request or a "
		    "delivery status, not both");
		return -1;
	}
	if (q->delivery_status && q->message_id[0] == '\0') {
		snprintf(err, errlen, "a delivery-status query needs the "
		    "message_id that the publish returned");
		return -1;
	}
	if (q->delivery_status && (q->subject[0] != '\0' ||
	    q->principal[0] != '\0' || q->action[0] != '\0' ||
	    q->from_unix_ms != 0 || q->until_unix_ms != 0)) {
		snprintf(err, errlen, "a delivery-status query takes the "
		    "message_id alone");
		return -1;
	}
	if (q->subject_access && q->subject[0] == '\0') {
		snprintf(err, errlen, "a subject-access query needs a subject");
		return -1;
	}
	if (q->subject_access && (q->principal[0] != '\0' ||
	    q->action[0] != '\0' || q->message_id[0] != '\0' ||
	    q->from_unix_ms != 0 || q->until_unix_ms != 0)) {
		snprintf(err, errlen, "a subject-access query takes the "
		    "subject alone: everything held about it");
		return -1;
	}
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s[0] != '\0' ? strdup(s) : NULL;
}

/*
 * A job for q (checked), asked by actor from session sname at peer, its
 * filter described by what.  NULL with the error and its code if the
 * page token is not one of ours, or out of memory.
 */
static struct auditq_job *
job_new(struct server *srv, const Nwd__V1__AuditQuery *q, const char *actor,
    const char *sname, const char *peer, const char *what,
    Nwd__V1__ErrorCode *code, char *err, size_t errlen)
{
	struct auditq_job	*j;
	int64_t			 now, pin;
	size_t			 cap;

	*code = NWD__V1__ERROR_CODE__ERROR_INTERNAL;
	snprintf(err, errlen, "audit query failed: out of memory");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->srv = srv;
	j->subject_access = q->subject_access;
	j->stage = q->subject_access ? STAGE_MESSAGES : STAGE_EVENTS;
	snprintf(j->what, sizeof(j->what), "%s", what);
	if (q->page_token[0] != '\0' &&
	    parse_token(j, q->page_token, &pin) == -1) {
		job_free(j);
		*code = NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE;
		snprintf(err, errlen, "%s: the page token is not one this "
		    "broker gave", q->delivery_status ? "delivery status" :
		    "audit query");
		return NULL;
	}
	if (q->page_token[0] == '\0')
		pin = 0;
	j->first_page = q->page_token[0] == '\0';
	/* The trail as it is now, or as it was at until, whichever is first. */
	now = clock_wall_ms();
	/* A status asked in the millisecond of the publish still sees it. */
	if (q->delivery_status)
		now++;
	j->until_ms = pin != 0 ? pin : now;
	if (q->until_unix_ms != 0 && q->until_unix_ms < j->until_ms)
		j->until_ms = q->until_unix_ms;
	j->from_ms = q->from_unix_ms;
	j->limit = q->limit == 0 ? AUDITQ_DEFAULT_LIMIT :
	    q->limit > AUDITQ_MAX_LIMIT ? AUDITQ_MAX_LIMIT : q->limit;
	cap = srv->cfg->max_frame;
	if (cap > srv->cfg->max_output_buffer / 2)
		cap = srv->cfg->max_output_buffer / 2;
	j->budget = cap > AUDITQ_FRAME_SLACK ? cap - AUDITQ_FRAME_SLACK : 0;
	if ((j->actor = strdup(actor)) == NULL ||
	    (j->session_name = strdup(sname)) == NULL ||
	    (j->peer = strdup(peer)) == NULL ||
	    (j->page = malloc(sizeof(*j->page))) == NULL)
		goto nomem;
	nwd__v1__audit_page__init(j->page);
	if ((q->subject[0] != '\0' && (j->subject = strdup(q->subject)) ==
	    NULL) ||
	    (q->principal[0] != '\0' && (j->principal =
	    dup_or_null(q->principal)) == NULL) ||
	    (q->action[0] != '\0' && (j->action = dup_or_null(q->action)) ==
	    NULL) ||
	    (q->message_id[0] != '\0' && (j->message_id =
	    dup_or_null(q->message_id)) == NULL) ||
	    (q->delivery_status && (j->sender = strdup(actor)) == NULL))
		goto nomem;
	return j;
nomem:
	job_free(j);
	return NULL;
}

/* Starts j's read of its stage (the first, or the events after the
 * messages); 0, or -1 if the store cannot take it. */
static int
job_start(struct auditq_job *j)
{
	struct store_audit_filter f;

	if (j->stage == STAGE_MESSAGES)
		return store_query_messages(j->srv->store, j->subject,
		    j->after_mid[0] != '\0' ? j->after_mid : NULL,
		    AUDITQ_MESSAGE_BATCH + (j->after_mid[0] != '\0'),
		    job_messages, j);
	memset(&f, 0, sizeof(f));
	f.subject = j->subject;
	f.principal = j->principal;
	f.action = j->action;
	f.message_id = j->message_id;
	f.sender = j->sender;
	f.delivery_only = j->sender != NULL;
	f.from_ms = j->from_ms;
	f.until_ms = j->until_ms;
	f.after_id = j->after_id;
	f.limit = j->limit;
	f.not_held = j->subject_access;
	f.held_from = j->cut_mid[0] != '\0' ? j->cut_mid : NULL;
	return store_query_audit(j->srv->store, &f, job_events, j);
}

void
auditq_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__AuditQuery *q)
{
	struct auditq_job	*j = NULL;
	struct audit_event	*ev = NULL;
	struct trail_origin	 o;
	Nwd__V1__ErrorCode	 code;
	char			 what[600], reason[800], err[320];

	describe(q, what, sizeof(what));
	/* Anyone may ask about what they published; the filter sees to it. */
	if (!q->delivery_status &&
	    strcmp(s->principal->role, AUDITQ_ROLE) != 0) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "audit queries are for auditors");
		snprintf(reason, sizeof(reason), "refused: audit queries are "
		    "for auditors, not role %s; asked: %s", s->principal->role,
		    what);
		o = session_origin(s);
		if ((ev = trail_event(&o, AUDIT_AUDIT_QUERY,
		    s->principal->id)) != NULL &&
		    (audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
		    (q->subject[0] != '\0' && name_ok(q->subject,
		    ENVELOPE_MAX_SUBJECT) && audit_event_set(ev,
		    AUDIT_F_SUBJECT, q->subject) == -1))) {
			audit_event_free(ev);
			ev = NULL;
		}
		trail_detached(srv->store, ev);
		return;
	}
	if (check_query(q, err, sizeof(err)) == -1) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "%s: %s",
		    q->delivery_status ? "delivery status" : "audit query",
		    err);
		return;
	}
	if (store_get_state(srv->store) != STORE_READY) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable, so the query cannot be recorded; try "
		    "again later");
		return;
	}
	if ((j = job_new(srv, q, s->principal->id, s->name, s->peer, what,
	    &code, err, sizeof(err))) == NULL) {
		session_send_error(s, request_id, code, "%s", err);
		return;
	}
	j->session_id = s->id;
	j->request_id = request_id;
	if (job_start(j) == -1) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable or busy; try again later");
	}
}

int
auditq_subject_page(struct server *srv, const struct auditq_asker *who,
    const char *subject, const char *token, auditq_page_fn *cb, void *arg,
    char *err, size_t errlen)
{
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__ErrorCode	 code;
	struct auditq_job	*j;
	char			 what[600];

	if (strcmp(who->role, AUDITQ_ROLE) != 0) {
		snprintf(err, errlen, "audit queries are for auditors");
		return -1;
	}
	q.subject = (char *)subject;
	q.subject_access = 1;
	q.limit = AUDITQ_MAX_LIMIT;
	q.page_token = (char *)(token != NULL ? token : "");
	if (check_query(&q, err, errlen) == -1)
		return -1;
	if (store_get_state(srv->store) != STORE_READY) {
		snprintf(err, errlen, "the audit store is unavailable, so the "
		    "query cannot be recorded; try again later");
		return -1;
	}
	describe(&q, what, sizeof(what));
	if ((j = job_new(srv, &q, who->actor, who->origin, who->peer, what,
	    &code, err, errlen)) == NULL)
		return -1;
	j->cb = cb;
	j->cb_arg = arg;
	if (job_start(j) == -1) {
		job_free(j);
		snprintf(err, errlen, "the audit store is unavailable or busy; "
		    "try again later");
		return -1;
	}
	return 0;
}
