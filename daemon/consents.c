/*
 * consents: the consent records kept up to date.  See consents.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "consent.h"
#include "consents.h"
#include "envelope.h"
#include "frame.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "uuid.h"

#define CONSENTS_MAX_NOTIFIED	64	/* names one notice carries */

struct consents {
	struct server		*srv;		/* borrowed */
	struct consent_table	*table;		/* owned */
	sysmsg_send_fn		*send;
	void			*send_arg;
};

struct consents_change {
	char			 mid[UUID_STR_LEN];
	char			*subject;	/* owned */
	int			 withdrawn;
	uint8_t			*env;		/* owned; the packed record */
	size_t			 envlen;
	struct consent_record	 rec;		/* strings below */
	char			**agencies;	/* owned */
	size_t			 nagencies;
	char			*withdraws;	/* owned */
};

/* A withdrawal being told. */
struct notice {
	struct consents		*c;
	char			 mid[UUID_STR_LEN];
	char			*subject;	/* owned */
	uint8_t			*env;		/* owned */
	size_t			 envlen;
};

static void
change_free(struct consents_change *ch)
{
	size_t i;

	if (ch == NULL)
		return;
	free(ch->subject);
	free(ch->env);
	for (i = 0; i < ch->nagencies; i++)
		free(ch->agencies[i]);
	free(ch->agencies);
	free(ch->withdraws);
	free(ch);
}

static void
notice_free(struct notice *n)
{
	if (n == NULL)
		return;
	free(n->subject);
	free(n->env);
	free(n);
}

struct consents *
consents_new(struct server *srv)
{
	struct consents *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->srv = srv;
	if ((c->table = consent_table_new()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
consents_free(struct consents *c)
{
	if (c == NULL)
		return;
	consent_table_free(c->table);
	free(c);
}

const struct consent_table *
consents_table(const struct consents *c)
{
	return c != NULL ? c->table : NULL;
}

void
consents_set_sender(struct consents *c, sysmsg_send_fn *send, void *arg)
{
	c->send = send;
	c->send_arg = arg;
}

static enum consent_status
status_of(const char *s)
{
	return strcmp(s, "given") == 0 ? CONSENT_GIVEN :
	    strcmp(s, "refused") == 0 ? CONSENT_REFUSED : CONSENT_WITHDRAWN;
}

/* Splits a comma-separated list in place into v (at most max). */
static size_t
split(char *s, char **v, size_t max)
{
	size_t	n = 0;
	char	*p;

	while (s != NULL && *s != '\0' && n < max) {
		v[n++] = s;
		if ((p = strchr(s, ',')) == NULL)
			break;
		*p = '\0';
		s = p + 1;
	}
	return n;
}

static void
loaded(int ok, const struct store_result *r, void *arg)
{
	struct consents		*c = arg;
	struct consent_record	 rec;
	char			 kinds[512], agencies[4096], *kv[32];
	char			*av[64];
	size_t			 i, n, k, nk;

	if (!ok) {
		log_warnx("event=consents_not_loaded reason=\"the query "
		    "failed\"; read again when the store is ready again");
		return;
	}
	consent_table_clear(c->table);
	n = store_result_nrows(r);
	for (i = 0; i < n; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.message_id = store_result_value(r, i, 0);
		rec.subject = store_result_value(r, i, 1);
		rec.status = status_of(store_result_value(r, i, 2));
		snprintf(kinds, sizeof(kinds), "%s", store_result_value(r, i,
		    3));
		nk = split(kinds, kv, 32);
		for (k = 0; k < nk; k++) {
			int kind = atoi(kv[k]);

			if (kind > 0 && kind < 32)
				rec.kinds |= 1u << kind;
		}
		snprintf(agencies, sizeof(agencies), "%s",
		    store_result_value(r, i, 4));
		rec.nagencies = split(agencies, av, 64);
		rec.agencies = (const char *const *)av;
		rec.recorded_ms = strtoll(store_result_value(r, i, 5), NULL,
		    10);
		rec.expires_ms = strtoll(store_result_value(r, i, 6), NULL,
		    10);
		rec.withdraws = store_result_value(r, i, 7);
		if (consent_table_put(c->table, &rec) == -1) {
			log_warnx("event=consents_not_loaded reason=\"out of "
			    "memory\"");
			break;
		}
	}
	log_info("event=consents_loaded records=%zu",
	    consent_table_count(c->table));
}

void
consents_load(struct consents *c)
{
	if (c != NULL && store_query_consents(c->srv->store, loaded, c) == -1)
		log_warnx("event=consents_not_loaded reason=\"the audit store "
		    "is not ready\"");
}

int
consents_publish(struct consents *c, const Nwd__V1__Envelope *env,
    const char *message_id, struct store_batch *batch,
    struct consents_change **out)
{
	const Nwd__V1__ConsentRecord	*cr;
	struct store_consent		 row;
	struct consents_change		*ch;
	int				 kinds[32];
	size_t				 i, nk = 0;

	*out = NULL;
	if (c == NULL || env->body_case !=
	    NWD__V1__ENVELOPE__BODY_CONSENT_RECORD ||
	    (cr = env->consent_record) == NULL)
		return 0;
	for (i = 0; i < cr->n_kinds && nk < 32; i++)
		kinds[nk++] = cr->kinds[i];
	memset(&row, 0, sizeof(row));
	row.message_id = message_id;
	row.subject = env->header->subject->local_id;
	row.status = cr->status == NWD__V1__CONSENT_RECORD__STATUS__GIVEN ?
	    "given" : cr->status == NWD__V1__CONSENT_RECORD__STATUS__REFUSED ?
	    "refused" : "withdrawn";
	row.kinds = kinds;
	row.nkinds = nk;
	row.agencies = (const char *const *)cr->agencies;
	row.nagencies = cr->n_agencies;
	row.purposes = (const char *const *)cr->purposes;
	row.npurposes = cr->n_purposes;
	row.recorded_ms = cr->recorded_unix_ms != 0 ? cr->recorded_unix_ms :
	    env->header->created_unix_ms;
	row.expires_ms = cr->expires_unix_ms;
	row.withdraws = cr->withdraws[0] != '\0' ? cr->withdraws : NULL;
	row.instance = c->srv->cfg->instance;
	if (store_batch_add_consent(batch, &row) == -1 ||
	    store_batch_add_change(batch, "consent", message_id) == -1 ||
	    (ch = calloc(1, sizeof(*ch))) == NULL)
		return -1;
	*out = ch;
	snprintf(ch->mid, sizeof(ch->mid), "%s", message_id);
	ch->withdrawn = cr->status ==
	    NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN;
	ch->envlen = nwd__v1__envelope__get_packed_size(env);
	if ((ch->subject = strdup(row.subject)) == NULL ||
	    (ch->env = malloc(ch->envlen > 0 ? ch->envlen : 1)) == NULL ||
	    (row.withdraws != NULL && (ch->withdraws =
	    strdup(row.withdraws)) == NULL) ||
	    (cr->n_agencies > 0 && (ch->agencies = calloc(cr->n_agencies,
	    sizeof(char *))) == NULL))
		return -1;
	nwd__v1__envelope__pack(env, ch->env);
	for (i = 0; i < cr->n_agencies; i++) {
		if ((ch->agencies[i] = strdup(cr->agencies[i])) == NULL)
			return -1;
		ch->nagencies++;
	}
	ch->rec.message_id = ch->mid;
	ch->rec.subject = ch->subject;
	ch->rec.status = row.status[0] == 'g' ? CONSENT_GIVEN :
	    row.status[0] == 'r' ? CONSENT_REFUSED : CONSENT_WITHDRAWN;
	for (i = 0; i < nk; i++)
		if (kinds[i] > 0 && kinds[i] < 32)
			ch->rec.kinds |= 1u << kinds[i];
	ch->rec.agencies = (const char *const *)ch->agencies;
	ch->rec.nagencies = ch->nagencies;
	ch->rec.recorded_ms = row.recorded_ms;
	ch->rec.expires_ms = row.expires_ms;
	ch->rec.withdraws = ch->withdraws;
	return 0;
}

static int
notice_rows(struct store_batch *batch, const char *message_id, void *arg)
{
	(void)batch;
	(void)message_id;
	(void)arg;
	return 0;
}

static void
notice_done(int committed, void *arg)
{
	struct notice *n = arg;

	if (committed)
		log_info("message=%s event=consent_withdrawal_told "
		    "subject=%s", n->mid, log_subject(n->subject));
	else
		log_warnx("message=%s event=consent_withdrawal_not_told "
		    "subject=%s reason=\"its batch did not commit\"", n->mid,
		    log_subject(n->subject));
	notice_free(n);
}

/* Who received consent-based shares: they are told of the withdrawal. */
static void
recipients_read(int ok, const struct store_result *r, void *arg)
{
	struct notice		*n = arg;
	Nwd__V1__Envelope	*env = NULL;
	char			*names[CONSENTS_MAX_NOTIFIED], err[256];
	char			 why[] = "consent withdrawn: consent-based "
				    "information shared with you about this "
				    "young person may no longer be used on "
				    "that basis";
	char			**old_share;
	size_t			 i, nr, k = 0, old_n;

	if (!ok) {
		log_warnx("message=%s event=consent_withdrawal_not_told "
		    "reason=\"who received consent-based shares could not be "
		    "read\"", n->mid);
		notice_free(n);
		return;
	}
	nr = store_result_nrows(r);
	for (i = 0; i < nr && k < CONSENTS_MAX_NOTIFIED; i++)
		names[k++] = (char *)store_result_value(r, i, 0);
	if (k == 0) {
		notice_free(n);
		return;
	}
	if ((env = frame_decode_envelope(n->env, n->envlen, SIZE_MAX, err,
	    sizeof(err))) == NULL) {
		log_warnx("message=%s event=consent_withdrawal_not_told "
		    "reason=\"%s\"", n->mid, err);
		notice_free(n);
		return;
	}
	old_share = env->header->share_with;
	old_n = env->header->n_share_with;
	env->header->share_with = names;
	env->header->n_share_with = k;
	env->header->references = n->mid;
	env->header->justification = why;
	/* Telling them is an obligation, whatever the record's basis. */
	env->header->legal_basis = NWD__V1__LEGAL_BASIS__LEGAL_OBLIGATION;
	if (n->c->send == NULL || n->c->send(env, notice_rows, notice_done, n,
	    n->c->send_arg) == -1) {
		log_warnx("message=%s event=consent_withdrawal_not_told "
		    "reason=\"it could not be published now\"", n->mid);
		notice_free(n);
	}
	/* The strings above are borrowed: give the envelope its own back. */
	env->header->share_with = old_share;
	env->header->n_share_with = old_n;
	env->header->references = NULL;
	env->header->justification = NULL;
	frame_free_envelope(env);
}

void
consents_commit(struct consents *c, struct consents_change *ch,
    int committed)
{
	struct notice *n;

	if (ch == NULL)
		return;
	if (committed && c != NULL) {
		if (consent_table_put(c->table, &ch->rec) == -1)
			log_warnx("message=%s event=consent_not_kept "
			    "reason=\"out of memory; read again at the next "
			    "connect\"", ch->mid);
		log_info("message=%s event=consent subject=%s status=%s",
		    ch->mid, log_subject(ch->subject),
		    ch->rec.status == CONSENT_GIVEN ?
		    "given" : ch->rec.status == CONSENT_REFUSED ? "refused" :
		    "withdrawn");
		if (ch->withdrawn && (n = calloc(1, sizeof(*n))) != NULL) {
			n->c = c;
			memcpy(n->mid, ch->mid, sizeof(n->mid));
			n->subject = ch->subject;
			n->env = ch->env;
			n->envlen = ch->envlen;
			ch->subject = NULL;
			ch->env = NULL;
			if (store_query_consent_recipients(c->srv->store,
			    n->subject, recipients_read, n) == -1)
				notice_free(n);
		}
	}
	change_free(ch);
}
