/*
 * corrections: corrections and retractions.  See corrections.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "corrections.h"
#include "decide.h"
#include "envelope.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "uuid.h"

#define CORRECTIONS_MAX_REACHED	1024	/* names a lookup keeps */

struct corrections {
	struct server		*srv;		/* borrowed */
	sysmsg_send_fn		*send;
	void			*send_arg;
};

struct lookup {
	corrections_found_fn	*fn;
	void			*arg;
};

/* A notice being told: one of as many as share_with limits call for,
 * the last of which marks the correction told. */
struct notice {
	char			 mid[UUID_STR_LEN];	/* the correction */
	char			*subject;		/* owned */
	int			 last;
};

struct corrections *
corrections_new(struct server *srv)
{
	struct corrections *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->srv = srv;
	return c;
}

void
corrections_free(struct corrections *c)
{
	free(c);
}

void
corrections_set_sender(struct corrections *c, sysmsg_send_fn *send,
    void *arg)
{
	c->send = send;
	c->send_arg = arg;
}

/* Splits a comma-separated list in place into at most max names. */
static size_t
split_names(char *list, char **out, size_t max)
{
	size_t	 n = 0;
	char	*p = list, *comma;

	while (p != NULL && *p != '\0' && n < max) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		out[n++] = p;
		p = comma;
	}
	return n;
}

static void
lookup_read(int ok, const struct store_result *r, void *arg)
{
	struct lookup		*l = arg;
	struct decide_superseded sup;
	char			*reached = NULL, **names = NULL;
	const char		*root = "";

	memset(&sup, 0, sizeof(sup));
	if (!ok) {
		l->fn(NULL, NULL, l->arg);
		free(l);
		return;
	}
	if (store_result_nrows(r) == 1) {
		sup.found = 1;
		sup.sender = store_result_value(r, 0, 0);
		sup.agency = store_result_value(r, 0, 1);
		sup.subject = store_result_value(r, 0, 2);
		sup.kind = atoi(store_result_value(r, 0, 3));
		sup.purged = strcmp(store_result_value(r, 0, 4), "true") == 0;
		root = store_result_value(r, 0, 5);
		sup.retracted_by = store_result_value(r, 0, 6);
		if ((reached = strdup(store_result_value(r, 0, 7))) == NULL ||
		    (names = calloc(CORRECTIONS_MAX_REACHED,
		    sizeof(*names))) == NULL) {
			free(reached);
			l->fn(NULL, NULL, l->arg);
			free(l);
			return;
		}
		sup.nreached = split_names(reached, names,
		    CORRECTIONS_MAX_REACHED);
		sup.reached = names;
	}
	l->fn(&sup, root, l->arg);
	free(names);
	free(reached);
	free(l);
}

int
corrections_lookup(struct corrections *c, const char *message_id,
    corrections_found_fn *fn, void *arg)
{
	struct lookup *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->fn = fn;
	l->arg = arg;
	if (store_query_superseded(c->srv->store, message_id, lookup_read,
	    l) == -1) {
		free(l);
		return -1;
	}
	return 0;
}

int
corrections_publish(struct corrections *c, const Nwd__V1__Envelope *env,
    const char *message_id, const char *root, const struct decide_plan *plan,
    struct store_batch *batch)
{
	struct store_correction row;

	if (!plan->withdraws)
		return 0;
	memset(&row, 0, sizeof(row));
	row.message_id = message_id;
	row.supersedes = env->header->supersedes;
	row.root = root;
	row.how = plan->withdraws == 2 ? "retracted" : "corrected";
	row.subject = env->header->subject->local_id;
	row.sender = env->header->sender;
	row.notice_to = (const char *const *)plan->notices;
	row.nnotice_to = plan->nnotices;
	row.at_ms = env->header->created_unix_ms;
	row.instance = c->srv->cfg->instance;
	return store_batch_add_correction(batch, &row);
}

static void
notice_free(struct notice *n)
{
	if (n == NULL)
		return;
	free(n->subject);
	free(n);
}

/* The notice's own transaction marks the correction told. */
static int
notice_rows(struct store_batch *batch, const char *message_id, void *arg)
{
	struct notice *n = arg;

	return n->last ? store_batch_correction_told(batch, n->mid,
	    message_id) : 0;
}

static void
notice_done(int committed, void *arg)
{
	struct notice *n = arg;

	if (committed)
		log_info("message=%s event=withdrawal_told subject=%s",
		    n->mid, log_subject(n->subject));
	else
		log_warnx("message=%s event=withdrawal_not_told subject=%s "
		    "reason=\"its batch did not commit; sent again when the "
		    "store is next ready\"", n->mid, log_subject(n->subject));
	notice_free(n);
}

/* One notice, to names[0..n). */
static void
tell_some(struct corrections *c, const char *message_id,
    const char *supersedes, int retracted, const char *subject,
    char *const *names, size_t n, int last)
{
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 sr = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__WithdrawalNotice	 wn = NWD__V1__WITHDRAWAL_NOTICE__INIT;
	struct notice			*no;

	if ((no = calloc(1, sizeof(*no))) == NULL ||
	    (no->subject = strdup(subject)) == NULL) {
		notice_free(no);
		log_warnx("message=%s event=withdrawal_not_told reason=\"out "
		    "of memory; sent again when the store is next ready\"",
		    message_id);
		return;
	}
	snprintf(no->mid, sizeof(no->mid), "%s", message_id);
	no->last = last;
	/* Nothing of the message or its correction: whose, which kind,
	 * what it said; only which message, how, and by which. */
	sr.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__WITHDRAWAL_NOTICE;
	h.subject = &sr;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__ROUTINE;
	h.legal_basis = NWD__V1__LEGAL_BASIS__LEGAL_OBLIGATION;
	h.share_with = (char **)names;
	h.n_share_with = n;
	h.supersedes = (char *)supersedes;
	wn.withdrawn_message_id = (char *)supersedes;
	wn.how = retracted ? NWD__V1__WITHDRAWAL_NOTICE__HOW__RETRACTED :
	    NWD__V1__WITHDRAWAL_NOTICE__HOW__CORRECTED;
	wn.by_message_id = (char *)message_id;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_WITHDRAWAL_NOTICE;
	env.withdrawal_notice = &wn;
	if (c->send == NULL || c->send(&env, notice_rows, notice_done, no,
	    c->send_arg) == -1) {
		log_warnx("message=%s event=withdrawal_not_told reason=\"it "
		    "could not be published now; sent again when the store "
		    "is next ready\"", message_id);
		notice_free(no);
	}
}

void
corrections_tell(struct corrections *c, const char *message_id,
    const char *supersedes, int retracted, const char *subject,
    char *const *names, size_t n)
{
	size_t off, k;

	if (n == 0 || c == NULL)
		return;
	/* As many notices as share_with's limit needs; the last one's
	 * transaction marks the correction told (if an earlier one is
	 * lost, its principals are not told again: said in the log). */
	for (off = 0; off < n; off += k) {
		k = n - off < ENVELOPE_MAX_SHARE_WITH ? n - off :
		    ENVELOPE_MAX_SHARE_WITH;
		tell_some(c, message_id, supersedes, retracted, subject,
		    names + off, k, off + k == n);
	}
}

/* Notices not yet sent: each is sent now. */
static void
untold_read(int ok, const struct store_result *r, void *arg)
{
	struct corrections	*c = arg;
	char			*list, *names[CORRECTIONS_MAX_REACHED];
	size_t			 i, nr, n;

	if (!ok) {
		log_warnx("event=withdrawals_not_read reason=\"the store did "
		    "not answer; read again when it is next ready\"");
		return;
	}
	nr = store_result_nrows(r);
	log_info("event=withdrawals_checked untold=%zu", nr);
	for (i = 0; i < nr; i++) {
		if ((list = strdup(store_result_value(r, i, 4))) == NULL)
			continue;
		n = split_names(list, names, sizeof(names) / sizeof(names[0]));
		log_info("message=%s event=withdrawal_resent reason=\"its "
		    "notice was not sent before\"", store_result_value(r, i,
		    0));
		corrections_tell(c, store_result_value(r, i, 0),
		    store_result_value(r, i, 1), strcmp(store_result_value(r,
		    i, 2), "retracted") == 0, store_result_value(r, i, 3),
		    names, n);
		free(list);
	}
}

void
corrections_load(struct corrections *c)
{
	if (c == NULL)
		return;
	if (store_query_corrections_untold(c->srv->store, untold_read, c) ==
	    -1)
		log_warnx("event=withdrawals_not_read reason=\"the store "
		    "could not take the query\"");
}
