/*
 * session: one client connection.  Owns the bufferevent (and through it the
 * socket and the SSL), reads and writes frames, enforces the handshake and
 * idle timeouts, the frame size limit and the output cap, and hands decoded
 * frames to the broker.  An explicit state machine; every transition goes
 * through session_set_state().
 *
 *   HANDSHAKE --TLS ok, principal mapped--> AUTHENTICATED --Hello--> ACTIVE
 *   any --error, timeout--> CLOSING --flushed, peer's EOF--> reaped
 *   any --peer gone--> reaped
 *   shutdown: session_drain() (no further requests read; a flag, not a
 *   state: answers and deliveries still flow), then session_goodbye()
 *   --Goodbye frame--> CLOSING
 *
 * A session is never freed inside its own callback: session_close() marks it
 * CLOSING and the server's reaper frees it from the loop.
 */
#ifndef NWD_SESSION_H
#define NWD_SESSION_H

#define SESSION_LOG_IDS	8	/* identifiers a session remembers */

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "log.h"
#include "nwd.pb-c.h"
#include "subs.h"
#include "trail.h"

struct server;
struct principal;
struct identity_map;
struct bufferevent;
struct event;
struct session;

/*
 * A writer that sends more than one frame's worth (the replay of a durable
 * queue) sends while session_has_room() and otherwise waits to be called:
 * with gone 0 when the session's output has drained below its low-water
 * mark, with gone 1 once when the session is closing or gone (the writer
 * must forget it).
 */
typedef void	session_writable_fn(struct session *s, void *arg, int gone);

enum session_state {
	SESSION_HANDSHAKE,	/* TLS in progress */
	SESSION_AUTHENTICATED,	/* certificate mapped; waiting for Hello */
	SESSION_ACTIVE,		/* serving requests */
	SESSION_CLOSING,	/* flushing its last frames */
};

#define SESSION_MAX_UNACKED	4096

/* A delivery sent and not yet acknowledged. */
struct session_unacked {
	uint64_t	delivery_id;	/* 0 = free slot */
	uint64_t	end;		/* out_added once its frame was queued;
					   0 while it is not */
	char		message_id[37];
	char		durable[65];	/* durable subscription, "" if live */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct server		*srv;		/* borrowed */
	uint64_t		 id;
	char			 name[24];	/* "s42", for logs and audit */
	char			 peer[64];	/* "ip:port" */
	enum session_state	 state;
	struct bufferevent	*bev;		/* owned; owns fd and SSL */
	struct event		*timer;		/* owned; handshake/idle */
	struct event		*linger;	/* owned; bounds CLOSING */
	struct event		*expiry;	/* owned; the certificate's
						   notAfter */
	struct principal	*principal;	/* owned copy; NULL before auth */
	time_t			 not_after;	/* its certificate chain's */
	struct subs		 subs;		/* owned; its subscriptions */
	uint64_t		 next_delivery_id;
	uint32_t		 publishes_in_flight;
	size_t			 bytes_in_flight; /* of those publishes */
	struct session_unacked	*unacked;	/* owned ring; NULL until the
						   first delivery */
	int			 unacked_overflowed;
	uint32_t		 durable_unacked; /* ring slots of durable
						   deliveries (metrics) */
	size_t			 unacked_next;	/* next slot to use */
	int			 read_paused;	/* output above high water */
	int			 half_closed;	/* our FIN is sent */
	int			 draining;	/* reads no more requests */
	uint64_t		 out_added;	/* bytes ever queued to send */
	uint64_t		 out_drained;	/* ... and written out */
	session_writable_fn	*writer;	/* the one paced writer */
	void			*writer_arg;	/* borrowed */
	/* log_subjects = no: the child identifiers its requests carried,
	 * most recent last, scrubbed from every session_log() line (one
	 * written when an answer comes back from the database, too). */
	char			*log_ids[SESSION_LOG_IDS]; /* owned */
	size_t			 nlog_ids;
};

/* Takes ownership of fd.  Returns NULL (fd closed) on failure. */
struct session	*session_new(struct server *srv, int fd,
		    const struct sockaddr *sa, socklen_t salen);
void		 session_free(struct session *s);

/* Returns the live session with this id, or NULL. */
struct session	*session_find(struct server *srv, uint64_t id);

/*
 * Queues a frame to the client.  Returns 0, or -1 if the frame could not be
 * encoded or the client is too slow, in which case the session is closed
 * as a slow consumer: for a Deliver, when the output would pass
 * max_output_buffer with something already waiting (one frame always
 * goes); for an answer, only far past it (reading requests pauses while
 * answers wait, so a client that reads is never cut off by its answers).
 */
int		 session_send(struct session *s, const Nwd__V1__Frame *f);
/* Queues a Deliver frame already encoded (with its length prefix); frame
 * stays the caller's. */
int		 session_send_bytes(struct session *s, const uint8_t *frame,
		    size_t len);

/*
 * 1 if a paced writer may queue a frame of len bytes now: nothing waits,
 * or what waits is below half of max_output_buffer and the frame fits.
 * A paced writer is never cut off as a slow consumer.
 */
int		 session_has_room(const struct session *s, size_t len);
/* Sets (fn NULL: clears) the session's paced writer. */
void		 session_set_writer(struct session *s, session_writable_fn *fn,
		    void *arg);

/* Sends an Error frame answering request_id. */
void		 session_send_error(struct session *s, uint64_t request_id,
		    Nwd__V1__ErrorCode code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/* Flushes what is queued, then closes.  Safe inside callbacks. */
void		 session_close(struct session *s, const char *reason);

/*
 * After a TLS reload (main.c swaps srv->tls, then calls this): judges the client certificate of every authenticated
 * session again by srv->tls (tls_peer_check()); a session it no longer
 * accepts (revoked by the new CRL, no longer chaining to the new CA) gets
 * an Error frame (FORBIDDEN) and is closed, which logs and audits a
 * disconnect with the reason.  Returns how many sessions were closed.
 */
unsigned int	 session_recheck_certs(struct server *srv);

/*
 * After a reload of the principal mapping (main.c swaps srv->ids, then
 * calls this): every authenticated session is looked up again by its
 * certificate's identity in ids.  One that maps to nothing now gets an
 * Error (FORBIDDEN) and a Goodbye saying so and is closed (its disconnect
 * row says why); one whose principal changed (role, agency, teams,
 * clearance) takes a copy of the new principal, audited as
 * principal_changed with what changed.  *closed and *changed count them.
 */
void		 session_remap(struct server *srv,
		    const struct identity_map *ids, unsigned int *closed,
		    unsigned int *changed);

/*
 * Shutdown, first step: the session reads no further requests; what it
 * asked before is still answered and deliveries still reach it.
 */
void		 session_drain(struct session *s);

/*
 * Shutdown, last step: sends a Goodbye frame carrying reason, then closes
 * as session_close() does.  A session still in its TLS handshake is
 * dropped without a frame.
 */
void		 session_goodbye(struct session *s, const char *reason);

const char	*session_state_name(enum session_state st);
/* The principal's id for a log line: "-" for NULL or before auth. */
const char	*session_who(const struct session *s);
/* The session's name ("s42") for a log line: "-" for NULL. */
const char	*session_name(const struct session *s);
/* Where the session's audit rows come from (borrows its strings). */
struct trail_origin session_origin(const struct session *s);

/*
 * Logs a line about session s (NULL: "-") at LEVEL (info, warnx, debug):
 * "session=ID principal=P " and then fmt.
 */
#define session_log(level, s, fmt, ...) do {				\
	size_t session_log_mark_ = session_log_scope(s);		\
	log_##level("session=%s principal=%s " fmt, session_name(s),	\
	    session_who(s), ##__VA_ARGS__);				\
	log_subjects_release(session_log_mark_);			\
} while (0)

/* Names the session's child identifiers to the log (log_subjects_add());
 * returns the mark to release. */
size_t		 session_log_scope(const struct session *s);

/*
 * Records a delivery of message_id and returns its new delivery id.  The
 * oldest unacknowledged delivery is forgotten when the ring is full.
 */
uint64_t	 session_delivery_add(struct session *s,
		    const char *message_id, const char *durable);
/*
 * The frame of delivery_id (the last one added) is queued.  A delivery
 * whose frame was not all written out when the session ends is recorded
 * as lost (deliver_lost): the client cannot have it.
 */
void		 session_delivery_sent(struct session *s,
		    uint64_t delivery_id);
/* Looks up and forgets delivery_id; copies its message id and durable
 * subscription name ("" if live) out.  Returns -1 if the session is not
 * waiting for that ack. */
/* 1 if s sent message_id among its last SESSION_MAX_UNACKED deliveries
 * (acknowledged or not), else 0. */
int		 session_delivery_sent_before(const struct session *s,
		    const char *message_id);
int		 session_delivery_ack(struct session *s, uint64_t delivery_id,
		    char mid[37], char durable[65]);

#endif
