/*
 * explain: answers an auditor's Explain frame ("would this principal
 * receive this message, which fields, because of which rule") with the
 * daemon's live policy, principal map and allocation table, through the
 * pure engine of decide.h, after auditing the question.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "decide.h"
#include "deliver.h"
#include "envelope.h"
#include "explain.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"
#include "world.h"

/* ------------------------------------------------------------------------
 * The daemon's half: an auditor's Explain frame.
 */

/* An answer waiting for its audit row to commit. */
struct explain_job {
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;	/* the auditor; may be gone */
	uint64_t		 request_id;
	Nwd__V1__ExplainResult	*result;	/* owned; NULL on error */
	Nwd__V1__ErrorCode	 code;		/* the error, without result */
	char			 error[320];
	char			 what[256];	/* "explain KIND SUBJ as P" */
};


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

/* "explain risk_alert YP-001 as plo-ana", from what the client sent. */
static void
describe(const Nwd__V1__Explain *req, char *out, size_t outlen)
{
	const Nwd__V1__Header	*h = req->envelope != NULL ?
				    req->envelope->header : NULL;
	const char		*kn = h != NULL ?
				    envelope_kind_name(h->kind) : NULL;
	char			 subject[ENVELOPE_MAX_SUBJECT + 1] = "-";
	char			 who[65] = "-";

	if (h != NULL && h->subject != NULL && h->subject->local_id[0] != '\0')
		printable(subject, sizeof(subject), h->subject->local_id,
		    ENVELOPE_MAX_SUBJECT);
	if (req->principal[0] != '\0')
		printable(who, sizeof(who), req->principal, 64);
	snprintf(out, outlen, "explain %s %s as %s", kn != NULL ? kn : "-",
	    subject, who);
}

static struct audit_event *
query_event(struct server *srv, struct session *s,
    const Nwd__V1__Explain *req, const char *reason)
{
	const Nwd__V1__Header	*h = req->envelope != NULL ?
				    req->envelope->header : NULL;
	struct audit_event	*ev;
	struct trail_origin	 o = session_origin(s);

	if ((ev = trail_event(&o, AUDIT_AUDIT_QUERY, s->principal->id)) ==
	    NULL)
		return NULL;
	if (h != NULL) {
		ev->kind =
		    envelope_kind_name(h->kind) != NULL ? (int)h->kind : 0;
		/* Only a sound subject: the envelope may be invalid (the
		 * explanation says so), the row must always be taken. */
		if (h->subject != NULL &&
		    envelope_subject_ok(h->subject->local_id) &&
		    audit_event_set(ev, AUDIT_F_SUBJECT,
		    h->subject->local_id) == -1)
			goto fail;
	}
	if (audit_event_set(ev, AUDIT_F_POLICY_VERSION,
	    policy_version(srv->policy)) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1)
		goto fail;
	return ev;
fail:
	audit_event_free(ev);
	return NULL;
}

/*
 * Online, a decision says how each recipient would be reached now, as a
 * publish would find them.
 */
static int
reach(const char *principal, int kind, const char *subject, int duty_pass,
    void *arg)
{
	struct server *srv = arg;

	return deliver_route(srv->index, srv->durables, principal, kind,
	    subject, duty_pass);
}

static void
job_free(struct explain_job *j)
{
	if (j == NULL)
		return;
	decide_explain_free(j->result);
	free(j);
}

static void
explain_done(enum store_outcome outcome, void *arg)
{
	struct explain_job	*j = arg;
	struct session		*s;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;

	if ((s = session_find(j->srv, j->session_id)) == NULL) {
		job_free(j);
		return;
	}
	if (outcome != STORE_COMMITTED) {
		session_send_error(s, j->request_id, outcome == STORE_FAILED ?
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL :
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "explain not "
		    "answered: the audit store did not record the query");
	} else if (j->result == NULL) {
		session_send_error(s, j->request_id, j->code, "explain: %s",
		    j->error);
	} else {
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_EXPLAIN_RESULT;
		f.explain_result = j->result;
		if (session_send(s, &f) == 0)
			session_log(info, s, "event=explain "
			    "query=\"%s\" recipients=%u duty_desk=%d", j->what,
			    j->result->recipients, j->result->duty_desk);
	}
	job_free(j);
}

void
explain_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__Explain *req)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	struct decide_world	 w;
	struct explain_job	*j = NULL;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	enum decide_explain_status st;
	char			 what[256], reason[640], clean[320];

	describe(req, what, sizeof(what));
	if (strcmp(s->principal->role, EXPLAIN_ROLE) != 0) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "explain is for auditors");
		snprintf(reason, sizeof(reason), "refused: explain is for "
		    "auditors, not role %s; asked: %s", s->principal->role,
		    what);
		trail_detached(srv->store, query_event(srv, s, req, reason));
		return;
	}
	if (req->n_to > DECIDE_EXPLAIN_MAX_TO) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "explain may name at "
		    "most %d principals in to", DECIDE_EXPLAIN_MAX_TO);
		return;
	}
	if (req->envelope == NULL) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "explain "
		    "carries no envelope");
		return;
	}
	if (store_get_state(srv->store) != STORE_READY) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable, so the query cannot be recorded; try "
		    "again later");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto internal;
	j->srv = srv;
	j->session_id = s->id;
	j->request_id = request_id;
	snprintf(j->what, sizeof(j->what), "%s", what);

	world_now(srv, &w);
	if (req->at_unix_ms != 0)
		w.now_ms = req->at_unix_ms;
	w.reach = reach;
	w.reach_arg = srv;
	j->result = decide_explain(&w, req->principal, req->envelope, req->to,
	    req->n_to, &st, j->error, sizeof(j->error));
	if (j->result == NULL) {
		if (st == DECIDE_EXPLAIN_NOMEM)
			goto internal;
		j->code = NWD__V1__ERROR_CODE__ERROR_NOT_FOUND;
	} else {
		f.request_id = request_id;
		f.msg_case = NWD__V1__FRAME__MSG_EXPLAIN_RESULT;
		f.explain_result = j->result;
		if (nwd__v1__frame__get_packed_size(&f) > srv->cfg->max_frame) {
			decide_explain_free(j->result);
			j->result = NULL;
			j->code = NWD__V1__ERROR_CODE__ERROR_LIMIT;
			snprintf(j->error, sizeof(j->error), "the explanation "
			    "is larger than max_frame (%u bytes); name fewer "
			    "principals in to", srv->cfg->max_frame);
		}
	}
	if (j->result == NULL) {
		/* The error may quote what the client sent. */
		printable(clean, sizeof(clean), j->error, sizeof(clean));
		memcpy(j->error, clean, sizeof(j->error));
		snprintf(reason, sizeof(reason), "%s; not answered: %s", what,
		    j->error);
	} else
		snprintf(reason, sizeof(reason), "%s", what);
	if ((batch = store_batch_new()) == NULL ||
	    (ev = query_event(srv, s, req, reason)) == NULL ||
	    store_batch_add_event(batch, ev) == -1)
		goto internal;
	if (store_submit(srv->store, batch, explain_done, j) == -1) {
		store_batch_free(batch);
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable or full, so the query cannot be recorded; "
		    "try again later");
		return;
	}
	return;
internal:
	store_batch_free(batch);
	job_free(j);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "explain failed: out of memory");
}
