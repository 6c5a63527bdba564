/*
 * store_chain: an audit row's place in this instance's hash chain (chain.h)
 * as its transaction is built: its canonical fields, the hash of the
 * message row a publish row carries, and each row's seq, prev_hash and
 * hash after the store's tentative head.  No I/O.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "chain.h"
#include "store.h"
#include "store_int.h"

/*
 * v in decimal, as printf's "%" PRId64 writes it, into buf (room for 21
 * bytes; 12 for a value of an int): a row's numbers without printf's
 * cost for each.
 */
static void
store_chain_i64(char *buf, int64_t v)
{
	char		 tmp[24];
	uint64_t	 u;
	size_t		 n = 0;

	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*buf++ = '-';
	while (n > 0)
		*buf++ = tmp[--n];
	*buf = '\0';
}

void
store_canon_row(const char *instance, const struct audit_event *ev,
    int64_t seq, const uint8_t *msg_hash, struct store_row *r)
{
	const char	**f = r->row.field;

	store_chain_i64(r->seq, seq);
	store_chain_i64(r->at, ev->at_ms);
	store_chain_i64(r->kind, ev->kind);
	f[CHAIN_F_INSTANCE] = instance;
	f[CHAIN_F_SEQ] = r->seq;
	f[CHAIN_F_AT] = r->at;
	f[CHAIN_F_ACTOR] = ev->actor;
	f[CHAIN_F_ACTION] = audit_action_name(ev->action);
	f[CHAIN_F_MESSAGE_ID] = ev->message_id;
	f[CHAIN_F_SUBJECT] = ev->subject;
	f[CHAIN_F_KIND] = ev->kind != 0 ? r->kind : NULL;
	f[CHAIN_F_RECIPIENT] = ev->recipient;
	f[CHAIN_F_FIELDS_SHARED] = ev->fields_shared;
	f[CHAIN_F_FIELDS_WITHHELD] = ev->fields_withheld;
	f[CHAIN_F_RULE] = ev->rule;
	f[CHAIN_F_POLICY_VERSION] = ev->policy_version;
	f[CHAIN_F_REASON] = ev->reason;
	f[CHAIN_F_PEER] = ev->peer;
	f[CHAIN_F_SESSION] = ev->session;
	f[CHAIN_F_ROUTE] = ev->route;
	f[CHAIN_F_MESSAGE_HASH] = NULL;
	if (msg_hash != NULL) {
		chain_hex(msg_hash, r->msg_hash);
		f[CHAIN_F_MESSAGE_HASH] = r->msg_hash;
	}
}

/*
 * The message hash (chain.h) of b's message row as the INSERT writes it,
 * with the allocation rows of b that name it.  Returns 0 or -1.
 */
static int
store_msg_hash(const struct store *s, const struct store_batch *b,
    uint8_t out[CHAIN_HASH_LEN])
{
	struct chain_message	 m;
	const char		*(*al)[CHAIN_ALLOC_NFIELDS] = NULL;
	char			 id[37], num[5][24], body[CHAIN_HEX_LEN];
	char			(*ms)[2][24] = NULL;
	size_t			 i, n = 0;
	int			 rc = -1;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(id) - 1 && b->msg_id[i] != '\0'; i++)
		id[i] = (char)tolower((unsigned char)b->msg_id[i]);
	id[i] = '\0';
	snprintf(num[0], sizeof(num[0]), "%d", b->msg_kind);
	snprintf(num[1], sizeof(num[1]), "%d", b->msg_marking);
	snprintf(num[2], sizeof(num[2]), "%d", b->msg_priority);
	snprintf(num[3], sizeof(num[3]), "%d", b->msg_legal_basis);
	snprintf(num[4], sizeof(num[4]), "%" PRId64, b->msg_created_ms);
	if (b->msg_body != NULL && chain_sha256_hex(b->msg_body,
	    b->msg_body_len, body) == -1)
		return -1;
	m.field[CHAIN_M_ID] = id;
	m.field[CHAIN_M_KIND] = num[0];
	m.field[CHAIN_M_SUBJECT] = b->msg_subject;
	m.field[CHAIN_M_SENDER] = b->msg_sender;
	m.field[CHAIN_M_AGENCY] = b->msg_agency;
	m.field[CHAIN_M_MARKING] = num[1];
	m.field[CHAIN_M_PRIORITY] = num[2];
	m.field[CHAIN_M_LEGAL_BASIS] = num[3];
	m.field[CHAIN_M_CREATED] = num[4];
	m.field[CHAIN_M_POLICY_VERSION] = b->msg_policy_version;
	m.field[CHAIN_M_INSTANCE] = s->instance;
	m.field[CHAIN_M_KEY_ID] = b->msg_key_id;
	m.field[CHAIN_M_BODY_SHA256] = b->msg_body != NULL ? body : NULL;
	if (b->nalloc > 0 && ((al = calloc(b->nalloc, sizeof(*al))) == NULL ||
	    (ms = calloc(b->nalloc, sizeof(*ms))) == NULL))
		goto out;
	for (i = 0; i < b->nalloc; i++) {
		const struct store_alloc *a = &b->alloc[i];

		if (strcasecmp(a->msg_id, b->msg_id) != 0)
			continue;
		snprintf(ms[n][0], sizeof(ms[n][0]), "%" PRId64, a->from_ms);
		snprintf(ms[n][1], sizeof(ms[n][1]), "%" PRId64, a->until_ms);
		al[n][CHAIN_A_SUBJECT] = a->subject;
		al[n][CHAIN_A_TEAM] = a->team;
		al[n][CHAIN_A_WORKER] = a->worker;
		al[n][CHAIN_A_FROM] = a->from_ms != 0 ? ms[n][0] : NULL;
		al[n][CHAIN_A_UNTIL] = a->until_ms != 0 ? ms[n][1] : NULL;
		n++;
	}
	m.alloc = al;
	m.nalloc = n;
	rc = chain_message_hash(&m, out);
 out:
	free(al);
	free(ms);
	return rc;
}

int
store_chain_assign(struct store *s, struct store_batch *b)
{
	struct store_row	 r;
	struct store_link	*l;
	const struct audit_event *ev;
	uint8_t			 mh[CHAIN_HASH_LEN];
	size_t			 i;
	int			 have_mh = 0;

	if (b->nev == 0)
		return 0;
	if (b->link == NULL &&
	    (b->link = calloc(b->nev, sizeof(*b->link))) == NULL)
		return -1;
	for (i = 0; i < b->nev; i++) {
		l = &b->link[i];
		ev = b->ev[i];
		l->seq = s->tent_seq + 1;
		memcpy(l->prev, s->tent_hash, sizeof(l->prev));
		/* A publish row of the batch's message carries its hash. */
		l->has_msg_hash = b->has_msg && ev->action == AUDIT_PUBLISH &&
		    ev->message_id != NULL &&
		    strcasecmp(ev->message_id, b->msg_id) == 0;
		if (l->has_msg_hash && !have_mh) {
			if (store_msg_hash(s, b, mh) == -1)
				return -1;
			have_mh = 1;
		}
		if (l->has_msg_hash)
			memcpy(l->msg_hash, mh, sizeof(l->msg_hash));
		store_canon_row(s->instance, ev, l->seq, l->has_msg_hash ?
		    l->msg_hash : NULL, &r);
		if (chain_hash_with(s->hasher, l->prev, &r.row, l->hash) == -1)
			return -1;
		s->tent_seq = l->seq;
		memcpy(s->tent_hash, l->hash, sizeof(s->tent_hash));
	}
	return 0;
}
