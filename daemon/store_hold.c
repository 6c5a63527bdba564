/*
 * store_hold: audit rows held while the database is away.
 *
 * A detached batch (rows nobody waits for: a connect, a subscribe, a
 * refused publish, a lost send) that cannot be written because the
 * connection is down, or whose transaction was lost or resolved
 * "unavailable", is not dropped: it waits here and goes back, in the
 * order it was made, to the head of the queue when the store is ready
 * again.  What is held is bounded by bytes (store_set_hold()); the
 * daemon refuses new sessions well before the bound
 * (store_hold_nearly_full()), so the rows lost past it can only be
 * those of sessions already open, and each loss is logged.
 *
 * A batch someone waits for (a publish, a durable subscribe, an ack) is
 * answered STORE_UNAVAILABLE as before: its submitter refuses the
 * request and writes the refusal, which is held here.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

#define STORE_HOLD_DEFAULT	(16u << 20)

static size_t
str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* What b takes in memory, near enough to bound it. */
static size_t
store_batch_bytes(const struct store_batch *b)
{
	const struct audit_event	*ev;
	size_t				 n = sizeof(*b), i;

	for (i = 0; i < b->nev; i++) {
		ev = b->ev[i];
		n += sizeof(*ev) + sizeof(struct store_link) +
		    str_bytes(ev->actor) + str_bytes(ev->message_id) +
		    str_bytes(ev->subject) + str_bytes(ev->recipient) +
		    str_bytes(ev->fields_shared) +
		    str_bytes(ev->fields_withheld) + str_bytes(ev->rule) +
		    str_bytes(ev->policy_version) + str_bytes(ev->reason) +
		    str_bytes(ev->peer) + str_bytes(ev->session) +
		    str_bytes(ev->route);
	}
	for (i = 0; i < b->ndeliv; i++)
		n += sizeof(*b->deliv) + str_bytes(b->deliv[i].principal) +
		    str_bytes(b->deliv[i].subscription);
	for (i = 0; i < b->nsub; i++)
		n += sizeof(*b->sub) + str_bytes(b->sub[i].principal) +
		    str_bytes(b->sub[i].name) + str_bytes(b->sub[i].subjects) +
		    str_bytes(b->sub[i].withdraw);
	return n + b->nalloc * sizeof(*b->alloc) + b->npurge * 37 +
	    b->msg_body_len;
}

void
store_set_hold(struct store *s, size_t max_bytes)
{
	if (s != NULL)
		s->hold_max_bytes = max_bytes;
}

static size_t
store_hold_max(const struct store *s)
{
	return s->hold_max_bytes > 0 ? s->hold_max_bytes : STORE_HOLD_DEFAULT;
}

void
store_hold(struct store *s, struct store_batch *b, int at_head)
{
	struct store_batch	*tail;
	size_t			 bytes = store_batch_bytes(b), nev = b->nev;

	if (s->held_bytes + bytes > store_hold_max(s)) {
		s->held_lost += b->nev;
		/* The first loss, then one line per 1024 rows. */
		if (s->held_lost - b->nev == 0 ||
		    (s->held_lost - b->nev) / 1024 != s->held_lost / 1024)
			log_warnx("store: database unavailable and %zu bytes of audit "
		    "rows already held (store_hold_max_bytes): rows lost "
		    "message_id=%s events=%zu lost_so_far=%" PRIu64
		    " event=audit_rows_lost",
		    s->held_bytes, store_batch_id(b), b->nev, s->held_lost);
		store_batch_free(b);
		return;
	}
	b->solo = 0;
	b->hold_bytes = bytes;
	/* Rows nobody waits for gather in one batch, as in the queue. */
	if (!at_head && (tail = TAILQ_LAST(&s->held, store_batchq)) != NULL &&
	    store_batch_join(tail, b) == 0) {
		tail->hold_bytes += bytes;
		s->held_bytes += bytes;
		s->held_rows += nev;
		return;
	}
	if (at_head)
		TAILQ_INSERT_HEAD(&s->held, b, entry);
	else
		TAILQ_INSERT_TAIL(&s->held, b, entry);
	s->nheld++;
	s->held_bytes += bytes;
	s->held_rows += nev;
	if (s->nheld == 1 && s->held_rows == nev)
		log_warnx("store: database unavailable; holding audit rows "
		    "until it returns (at most %zu bytes)"
		    " event=audit_hold", store_hold_max(s));
}

void
store_hold_release(struct store *s)
{
	struct store_batch	*b;

	if (s->nheld == 0)
		return;
	log_info("store: writing the audit rows held while the database "
	    "was away batches=%zu events=%zu bytes=%zu"
	    " event=audit_hold_flush", s->nheld,
	    s->held_rows, s->held_bytes);
	TAILQ_FOREACH(b, &s->held, entry) {
		b->num = ++s->nsubmitted;
		clock_gettime(CLOCK_MONOTONIC, &b->queued_at);
	}
	TAILQ_CONCAT(&s->held, &s->queue, entry);
	TAILQ_CONCAT(&s->queue, &s->held, entry);
	s->nqueue += s->nheld;
	s->nheld = 0;
	s->held_bytes = 0;
	s->held_rows = 0;
}

void
store_hold_drop(struct store *s)
{
	struct store_batch	*b;

	if (s->nheld > 0)
		log_warnx("store: closing with audit rows held for a database "
		    "that did not return: batches=%zu events=%zu lost"
		    " event=audit_rows_lost",
		    s->nheld, s->held_rows);
	while ((b = TAILQ_FIRST(&s->held)) != NULL) {
		TAILQ_REMOVE(&s->held, b, entry);
		store_batch_free(b);
	}
	s->nheld = 0;
	s->held_bytes = 0;
	s->held_rows = 0;
}

size_t
store_held_rows(const struct store *s)
{
	return s != NULL ? s->held_rows : 0;
}

int
store_hold_nearly_full(const struct store *s)
{
	return s != NULL && s->held_bytes >= store_hold_max(s) / 4 * 3;
}
