#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "server.h"
#include "sessidx.h"
#include "store.h"
#include "session.h"
#include "subs.h"
#include "tls.h"
#include "trail.h"
#include "utf8.h"

#define SESSION_LINGER_SECS	5	/* most time to flush a last frame */
#define SESSION_IDENTITY_MAX	256


static void	read_cb(struct bufferevent *, void *);
static void	write_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static void	timer_cb(evutil_socket_t, short, void *);
static void	expiry_cb(evutil_socket_t, short, void *);
static void	arm_expiry(struct session *, SSL *);
static void	linger_cb(evutil_socket_t, short, void *);
static void	writer_gone(struct session *);
static void	out_counted(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);

const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_HANDSHAKE:
		return "handshake";
	case SESSION_AUTHENTICATED:
		return "authenticated";
	case SESSION_ACTIVE:
		return "active";
	case SESSION_CLOSING:
		return "closing";
	}
	return "unknown";
}

const char *
session_who(const struct session *s)
{
	return s != NULL && s->principal != NULL ? s->principal->id : "-";
}

const char *
session_name(const struct session *s)
{
	return s != NULL ? s->name : "-";
}

struct trail_origin
session_origin(const struct session *s)
{
	struct trail_origin o = { s->name, s->peer };

	return o;
}

/* A row about this session that nobody waits for. */
static void
audit_session(struct session *s, enum audit_action a, const char *actor,
    const char *reason)
{
	struct trail_origin o = session_origin(s);

	trail_session(s->srv->store, &o, a, actor, reason);
}

static void
arm_timer(struct session *s, uint32_t secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_add(s->timer, &tv);
}

/* The one place a session changes state. */
static void
session_set_state(struct session *s, enum session_state st)
{
	session_log(debug, s, "event=state from=%s to=%s",
	    session_state_name(s->state), session_state_name(st));
	s->state = st;
	switch (st) {
	case SESSION_HANDSHAKE:
	case SESSION_AUTHENTICATED:
		arm_timer(s, s->srv->cfg->handshake_timeout);
		break;
	case SESSION_ACTIVE:
		arm_timer(s, s->srv->cfg->idle_timeout);
		break;
	case SESSION_CLOSING:
		evtimer_del(s->timer);
		break;
	}
}

static void
format_peer(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
	} else
		snprintf(out, outlen, "unix");
}

struct session *
session_new(struct server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session	*s;
	SSL		*ssl = NULL;
	size_t		 hiwat;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto bad;
	s->srv = srv;
	s->id = ++srv->next_session_id;
	snprintf(s->name, sizeof(s->name), "s%llu", (unsigned long long)s->id);
	format_peer(sa, s->peer, sizeof(s->peer));
	if ((ssl = tls_ssl_new(srv->tls)) == NULL)
		goto bad;
	s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		goto bad;
	/* The bufferevent owns the fd and the SSL from here on. */
	ssl = NULL;
	fd = -1;
	if ((s->timer = evtimer_new(srv->base, timer_cb, s)) == NULL ||
	    (s->linger = evtimer_new(srv->base, linger_cb, s)) == NULL ||
	    (s->expiry = evtimer_new(srv->base, expiry_cb, s)) == NULL)
		goto bad;
	/* Stop reading once a whole frame of the largest size is buffered. */
	hiwat = FRAME_HEADER_LEN + (size_t)srv->cfg->max_frame;
	bufferevent_setwatermark(s->bev, EV_READ, 0, hiwat);
	bufferevent_setwatermark(s->bev, EV_WRITE,
	    srv->cfg->max_output_buffer / 4, 0);
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	if (evbuffer_add_cb(bufferevent_get_output(s->bev), out_counted,
	    s) == NULL)
		goto bad;
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if ((srv->index == NULL && (srv->index = sessidx_new()) == NULL) ||
	    sessidx_add(srv->index, s->id, s) == -1)
		goto bad;
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	s->state = SESSION_HANDSHAKE;
	session_set_state(s, SESSION_HANDSHAKE);
	log_debug("session=%s principal=- peer=%s event=accept", s->name,
	    s->peer);
	return s;
bad:
	log_warnx("peer=%s event=accept_failed reason=\"out of memory\"",
	    s != NULL ? s->peer : "-");
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	if (s != NULL) {
		if (s->bev != NULL)
			bufferevent_free(s->bev);
		if (s->timer != NULL)
			event_free(s->timer);
		if (s->linger != NULL)
			event_free(s->linger);
		free(s->unacked);
		free(s);
	}
	return NULL;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	writer_gone(s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->linger != NULL)
		event_free(s->linger);
	if (s->expiry != NULL)
		event_free(s->expiry);
	subs_clear(&s->subs);
	principal_free(s->principal);
	free(s->unacked);
	while (s->nlog_ids > 0)
		free(s->log_ids[--s->nlog_ids]);
	free(s);
}

size_t
session_log_scope(const struct session *s)
{
	size_t mark = log_subjects_mark(), i;

	for (i = 0; s != NULL && i < s->nlog_ids; i++)
		log_subjects_add(s->log_ids[i]);
	return mark;
}

/* Remembers id for the session's later lines: the oldest goes when full. */
static void
remember_subject(struct session *s, const char *id)
{
	size_t	 i;
	char	*copy;

	for (i = 0; i < s->nlog_ids; i++)
		if (strcmp(s->log_ids[i], id) == 0)
			return;
	if ((copy = strdup(id)) == NULL)
		return;
	if (s->nlog_ids == SESSION_LOG_IDS) {
		free(s->log_ids[0]);
		memmove(&s->log_ids[0], &s->log_ids[1],
		    (SESSION_LOG_IDS - 1) * sizeof(s->log_ids[0]));
		s->nlog_ids--;
	}
	s->log_ids[s->nlog_ids++] = copy;
}

struct session *
session_find(struct server *srv, uint64_t id)
{
	struct session *s;

	if ((s = sessidx_get(srv->index, id)) == NULL)
		return NULL;
	return s->state == SESSION_CLOSING ? NULL : s;
}

/* Moves the session to the zombie list; the server's reaper frees it. */
/*
 * Deliveries whose frames had not all been written out when the session
 * ended: the client cannot have them.  One row each, detached.
 */
static void
record_unwritten(struct session *s)
{
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	const struct session_unacked *u;
	size_t			 i, n = 0;

	if (s->unacked == NULL || s->principal == NULL)
		return;
	for (i = 0; i < SESSION_MAX_UNACKED; i++) {
		u = &s->unacked[i];
		if (u->delivery_id == 0 || u->end == 0 ||
		    u->end <= s->out_drained)
			continue;
		if (batch == NULL && (batch = store_batch_new()) == NULL)
			return;
		ev = trail_delivery(s->srv->cfg->instance, AUDIT_DELIVER_LOST,
		    u->message_id, NULL, 0, s->principal->id,
		    u->durable[0] != '\0' ? "cut off before its frame was "
		    "written out (the session ended); its durable queue still "
		    "holds it" : "cut off before its frame was written out "
		    "(the session ended): not delivered");
		if (ev != NULL && store_batch_add_event(batch, ev) == 0)
			n++;
	}
	if (batch == NULL)
		return;
	session_log(info, s, "event=deliver_lost deliveries=%zu reason=\"not "
	    "written out before the session ended\"", n);
	store_submit_detached(s->srv->store, batch);
}

static void
session_reap(struct session *s)
{
	writer_gone(s);
	record_unwritten(s);
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	evtimer_del(s->linger);
	sessidx_del(s->srv->index, s->id);
	if (s->subs.n > 0 && s->principal != NULL && s->srv->on_subs != NULL) {
		subs_clear(&s->subs);
		s->srv->on_subs(s->principal->id, s->srv->on_subs_arg);
	}
	TAILQ_REMOVE(&s->srv->sessions, s, entry);
	TAILQ_INSERT_TAIL(&s->srv->zombies, s, entry);
	s->srv->nsessions--;
	event_active(s->srv->reaper, EV_TIMEOUT, 0);
}

/* Counts what is queued to send and what has been written out. */
static void
out_counted(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	s->out_added += info->n_added;
	s->out_drained += info->n_deleted;
}

/* The writer learns that the session is going: it may send no more. */
static void
writer_gone(struct session *s)
{
	session_writable_fn	*fn = s->writer;
	void			*arg = s->writer_arg;

	s->writer = NULL;
	s->writer_arg = NULL;
	if (fn != NULL)
		fn(s, arg, 1);
}

/* Logs and audits why a session ends, and enters CLOSING. */
static void
record_close(struct session *s, const char *reason)
{
	session_log(info, s, "peer=%s event=close reason=\"%s\"", s->peer,
	    reason);
	if (s->principal != NULL)
		audit_session(s, AUDIT_DISCONNECT,
		    s->principal->id, reason);
	session_set_state(s, SESSION_CLOSING);
	writer_gone(s);
}

/* Everything queued has been written: send our FIN, keep reading. */
static void
half_close(struct session *s)
{
	if (s->half_closed)
		return;
	s->half_closed = 1;
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
}

void
session_close(struct session *s, const char *reason)
{
	struct timeval tv = { SESSION_LINGER_SECS, 0 };

	if (s->state == SESSION_CLOSING)
		return;
	record_close(s, reason);
	/*
	 * Flush what is queued (an Error frame, say), then half-close and
	 * wait for the peer's EOF.  Input keeps being read and discarded:
	 * closing a socket with unread input makes the kernel send a reset,
	 * which can destroy the Error frame before the client reads it.
	 */
	bufferevent_enable(s->bev, EV_READ);
	s->read_paused = 0;
	evtimer_add(s->linger, &tv);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		half_close(s);
	else
		bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
}

/* Closes without flushing: the peer is gone or cannot be trusted. */
static void
session_abort(struct session *s, const char *reason)
{
	if (s->state == SESSION_CLOSING) {
		session_reap(s);
		return;
	}
	record_close(s, reason);
	session_reap(s);
}

void
session_drain(struct session *s)
{
	if (s->state == SESSION_CLOSING || s->draining)
		return;
	s->draining = 1;
	bufferevent_disable(s->bev, EV_READ);
	session_log(debug, s, "event=drain");
}

void
session_goodbye(struct session *s, const char *reason)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__Goodbye	g = NWD__V1__GOODBYE__INIT;

	if (s->state == SESSION_CLOSING)
		return;
	if (s->state == SESSION_HANDSHAKE) {
		session_abort(s, reason);
		return;
	}
	g.reason = (char *)reason;
	f.msg_case = NWD__V1__FRAME__MSG_GOODBYE;
	f.goodbye = &g;
	/* A slow consumer is cut off by session_send(); then closing is a
	 * no-op. */
	session_send(s, &f);
	session_close(s, reason);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	session_reap(arg);
}

/*
 * Queues a frame.  A delivery (pushed, unasked) over max_output_buffer,
 * with something already waiting, cuts the session off as a slow
 * consumer; an answer to the client's own request is bounded by the read
 * side instead (requests are not read while answers pile up), and only a
 * client far past the cap, that asks and never reads, is cut off.
 */
static int
queue_frame(struct session *s, const uint8_t *frame, size_t len,
    int delivery)
{
	struct evbuffer		*out;
	const struct config	*cfg = s->srv->cfg;
	size_t			 have, cap;

	if (s->state == SESSION_CLOSING)
		return -1;
	out = bufferevent_get_output(s->bev);
	have = evbuffer_get_length(out);
	cap = delivery ? cfg->max_output_buffer :
	    2 * cfg->max_output_buffer + cfg->max_frame;
	/* A client with nothing waiting is not slow, whatever the frame's
	 * size: one frame always goes. */
	if (have > 0 && have + len > cap) {
		metrics_refusal("slow_consumer");
		session_abort(s, "slow consumer: output buffer above "
		    "max_output_buffer");
		return -1;
	}
	evbuffer_add(out, frame, len);
	/* Back-pressure: stop reading requests while our answers pile up. */
	if (!s->read_paused &&
	    evbuffer_get_length(out) > cfg->max_output_buffer / 2) {
		s->read_paused = 1;
		bufferevent_disable(s->bev, EV_READ);
	}
	return 0;
}

int
session_send_bytes(struct session *s, const uint8_t *frame, size_t len)
{
	return queue_frame(s, frame, len, 1);
}

int
session_send(struct session *s, const Nwd__V1__Frame *f)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rc;

	if (s->state == SESSION_CLOSING)
		return -1;
	if ((buf = frame_encode(f, s->srv->cfg->max_frame, &len)) == NULL) {
		session_log(warnx, s, "event=send_failed frame=%s "
		    "reason=\"frame exceeds max_frame or out of memory\"",
		    frame_msg_name(f));
		return -1;
	}
	rc = queue_frame(s, buf, len, f->msg_case ==
	    NWD__V1__FRAME__MSG_DELIVER);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

void
session_send_error(struct session *s, uint64_t request_id,
    Nwd__V1__ErrorCode code, const char *fmt, ...)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	Nwd__V1__Error	e = NWD__V1__ERROR__INIT;
	char		full[1024], text[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	/* At most 511 bytes, never cut inside a character. */
	utf8_clean(text, sizeof(text), full, strlen(full), UTF8_KEEP_CONTROLS);
	e.code = code;
	e.text = text;
	e.request_id = request_id;
	f.request_id = request_id;
	f.msg_case = NWD__V1__FRAME__MSG_ERROR;
	f.error = &e;
	session_log(info, s,
	    "event=error code=%s request=%llu "
	    "reason=\"%s\"",
	    frame_error_code_name(code), (unsigned long long)request_id, text);
	session_send(s, &f);
}

/* An error the client cannot recover from: say why, audit, close. */
static void
protocol_error(struct session *s, uint64_t request_id,
    Nwd__V1__ErrorCode code, const char *reason)
{
	session_send_error(s, request_id, code, "%s", reason);
	audit_session(s, AUDIT_PROTOCOL_ERROR,
	    s->principal != NULL ? s->principal->id : NULL, reason);
	session_close(s, reason);
}

static void
send_welcome(struct session *s, uint64_t request_id)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__Welcome	w = NWD__V1__WELCOME__INIT;
	Nwd__V1__Principal	p = NWD__V1__PRINCIPAL__INIT;

	p.id = s->principal->id;
	p.role = s->principal->role;
	p.agency = s->principal->agency;
	p.teams = s->principal->teams;
	p.n_teams = s->principal->nteams;
	p.clearance = s->principal->clearance;
	w.protocol_version = FRAME_PROTOCOL_VERSION;
	w.principal = &p;
	w.instance = s->srv->cfg->instance;
	w.policy_version = (char *)policy_version(s->srv->policy);
	w.max_frame = s->srv->cfg->max_frame;
	f.request_id = request_id;
	f.msg_case = NWD__V1__FRAME__MSG_WELCOME;
	f.welcome = &w;
	session_send(s, &f);
}

static void
send_pong(struct session *s, uint64_t request_id, uint64_t nonce)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	Nwd__V1__Pong	p = NWD__V1__PONG__INIT;

	p.nonce = nonce;
	f.request_id = request_id;
	f.msg_case = NWD__V1__FRAME__MSG_PONG;
	f.pong = &p;
	session_send(s, &f);
}

/*
 * Names every child identifier a request carries to the log
 * (log_subjects_add()), so that with log_subjects = no none of them is
 * written while it is handled, inside a refusal's reason included, and
 * remembers it for the session's later lines (an answer that comes back
 * from the database): the string fields called local_id, nhs_number,
 * subject and subjects, anywhere in the message.
 */
static void
scope_subjects(struct session *s, const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor	*d;
	const ProtobufCFieldDescriptor		*fd;
	const char				*base, *name;
	void * const				*arr;
	size_t					 i, j, n;

	if (m == NULL || depth > 8)
		return;
	d = m->descriptor;
	base = (const char *)m;
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		name = fd->name;
		/* Oneof members share their storage: only the one set. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + fd->quantifier_offset) !=
		    fd->id)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + fd->quantifier_offset);
			arr = *(void * const * const *)(base + fd->offset);
		} else {
			n = 1;
			arr = (void * const *)(base + fd->offset);
		}
		if (fd->type == PROTOBUF_C_TYPE_STRING &&
		    (strcmp(name, "local_id") == 0 ||
		    strcmp(name, "nhs_number") == 0 ||
		    strcmp(name, "subject") == 0 ||
		    strcmp(name, "subjects") == 0)) {
			for (j = 0; j < n; j++) {
				if (arr[j] == NULL || *(char *)arr[j] == '\0')
					continue;
				log_subjects_add(arr[j]);
				remember_subject(s, arr[j]);
			}
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			for (j = 0; j < n; j++)
				scope_subjects(s, arr[j], depth + 1);
		}
	}
}

static void
dispatch(struct session *s, Nwd__V1__Frame *f)
{
	char	reason[128];
	size_t	mark;

	if (s->state == SESSION_AUTHENTICATED) {
		if (f->msg_case != NWD__V1__FRAME__MSG_HELLO) {
			snprintf(reason, sizeof(reason), "expected hello, got "
			    "%s", frame_msg_name(f));
			metrics_refusal("protocol");
			protocol_error(s, f->request_id,
			    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, reason);
			return;
		}
		if (f->hello->protocol_version != FRAME_PROTOCOL_VERSION) {
			snprintf(reason, sizeof(reason), "protocol version %u "
			    "is not supported; this broker speaks %d",
			    f->hello->protocol_version, FRAME_PROTOCOL_VERSION);
			metrics_refusal("protocol");
			protocol_error(s, f->request_id,
			    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, reason);
			return;
		}
		session_set_state(s, SESSION_ACTIVE);
		send_welcome(s, f->request_id);
		session_log(info, s, "role=%s peer=%s event=hello",
		    s->principal->role, s->peer);
		return;
	}
	/* ACTIVE: every frame resets the idle timer. */
	arm_timer(s, s->srv->cfg->idle_timeout);
	switch (f->msg_case) {
	case NWD__V1__FRAME__MSG_PING:
		send_pong(s, f->request_id, f->ping->nonce);
		break;
	case NWD__V1__FRAME__MSG_HELLO:
		session_send_error(s, f->request_id,
		    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, "hello was already "
		    "received on this session");
		break;
	default:
		mark = log_subjects_mark();
		if (!log_subjects_shown())
			scope_subjects(s, &f->base, 0);
		s->srv->on_request(s, f, s->srv->on_request_arg);
		log_subjects_release(mark);
		break;
	}
}

/* Reads every complete frame in the input buffer. */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 hdr[FRAME_HEADER_LEN], *payload;
	uint32_t	 n, max = s->srv->cfg->max_frame;
	Nwd__V1__Frame	*f;
	char		 err[256], reason[320];

	while (!s->draining && (s->state == SESSION_AUTHENTICATED ||
	    s->state == SESSION_ACTIVE)) {
		if (evbuffer_get_length(in) < FRAME_HEADER_LEN)
			return;
		evbuffer_copyout(in, hdr, FRAME_HEADER_LEN);
		n = frame_peek_length(hdr);
		if (!frame_length_ok(n, max)) {
			snprintf(reason, sizeof(reason), "frame length %u is "
			    "outside 1..%u (max_frame)", n, max);
			evbuffer_drain(in, evbuffer_get_length(in));
			metrics_refusal("frame_oversize");
			protocol_error(s, 0,
			    NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE, reason);
			return;
		}
		if (evbuffer_get_length(in) < FRAME_HEADER_LEN + (size_t)n)
			return;
		evbuffer_drain(in, FRAME_HEADER_LEN);
		payload = evbuffer_pullup(in, n);
		f = payload != NULL ? frame_decode(payload, n,
		    (size_t)max * 4, err, sizeof(err)) : NULL;
		evbuffer_drain(in, n);
		if (f == NULL) {
			snprintf(reason, sizeof(reason), "malformed frame: %s",
			    payload != NULL ? err : "out of memory");
			evbuffer_drain(in, evbuffer_get_length(in));
			metrics_refusal("frame_malformed");
			protocol_error(s, 0,
			    NWD__V1__ERROR_CODE__ERROR_MALFORMED, reason);
			return;
		}
		dispatch(s, f);
		frame_free(f);
	}
	/* HANDSHAKE or CLOSING: nothing to read. */
	if (s->state == SESSION_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			half_close(s);
		return;
	}
	if (s->read_paused && !s->draining) {
		s->read_paused = 0;
		bufferevent_enable(bev, EV_READ);
		read_cb(bev, s);
	}
	/* Room again (below the low-water mark): the writer may go on. */
	if (s->writer != NULL && s->state != SESSION_CLOSING)
		s->writer(s, s->writer_arg, 0);
}

void
session_set_writer(struct session *s, session_writable_fn *fn, void *arg)
{
	s->writer = fn;
	s->writer_arg = arg;
}

int
session_has_room(const struct session *s, size_t len)
{
	size_t out;

	if (s->state == SESSION_CLOSING)
		return 0;
	out = evbuffer_get_length(bufferevent_get_output(s->bev));
	return out == 0 || (out < s->srv->cfg->max_output_buffer / 2 &&
	    out + len <= s->srv->cfg->max_output_buffer);
}

/*
 * 1 (with the reason in err) if principal id already holds
 * max_connections_per_principal sessions that are not closing; s itself,
 * not yet authenticated, is not counted.
 */
static int
principal_over_limit(struct session *s, const char *id, char *err,
    size_t errlen)
{
	const struct session	*o;
	uint32_t		 max, n = 0;

	if ((max = s->srv->cfg->max_connections_per_principal) == 0)
		return 0;
	/* The index counts closing sessions too: below max, no need to
	 * look further. */
	if (s->srv->index != NULL && sessidx_count(s->srv->index, id) < max)
		return 0;
	TAILQ_FOREACH(o, &s->srv->sessions, entry)
		if (o->principal != NULL && o->state != SESSION_CLOSING &&
		    strcmp(o->principal->id, id) == 0)
			n++;
	if (n < max)
		return 0;
	snprintf(err, errlen, "principal %s already has %u sessions open "
	    "(max_connections_per_principal)", id, n);
	return 1;
}

unsigned int
session_recheck_certs(struct server *srv)
{
	struct session	*s, *next;
	char		 why[256], reason[320];
	unsigned int	 n = 0;

	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state != SESSION_AUTHENTICATED &&
		    s->state != SESSION_ACTIVE)
			continue;
		if (tls_peer_check(srv->tls, bufferevent_openssl_get_ssl(
		    s->bev), why, sizeof(why)) == 0)
			continue;
		snprintf(reason, sizeof(reason), "client certificate no longer "
		    "accepted after TLS reload: %s", why);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "%s", reason);
		session_close(s, reason);
		n++;
	}
	return n;
}

void
session_remap(struct server *srv, const struct identity_map *ids,
    unsigned int *closed, unsigned int *changed)
{
	struct session		*s, *next;
	const struct principal	*p;
	struct principal	*np;
	struct audit_event	*ev;
	struct trail_origin	 o;
	char			 what[512], reason[700];

	*closed = *changed = 0;
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if ((s->state != SESSION_AUTHENTICATED &&
		    s->state != SESSION_ACTIVE) || s->principal == NULL)
			continue;
		/* The certificate's identity, as it was mapped. */
		if ((p = identity_lookup(ids, s->principal->identity)) ==
		    NULL) {
			snprintf(reason, sizeof(reason), "%s is no longer in "
			    "the principal mapping (removed at a reload)",
			    s->principal->id);
			session_send_error(s, 0,
			    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "%s", reason);
			session_goodbye(s, reason);
			(*closed)++;
			continue;
		}
		if (!principal_diff(s->principal, p, what, sizeof(what)))
			continue;
		if ((np = principal_dup(p)) == NULL ||
		    sessidx_set_principal(srv->index, s->id, p->id) == -1) {
			principal_free(np);
			session_abort(s, "out of memory taking the new "
			    "principal at a reload");
			(*closed)++;
			continue;
		}
		session_log(info, s, "event=principal_changed change=\"%s\"",
		    what);
		snprintf(reason, sizeof(reason), "at a reload of the principal "
		    "mapping: %s; the session goes on with the new rights",
		    what);
		principal_free(s->principal);
		s->principal = np;
		o = session_origin(s);
		if ((ev = trail_event(&o, AUDIT_PRINCIPAL_CHANGED, np->id)) !=
		    NULL && audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
			audit_event_free(ev);
			ev = NULL;
		}
		trail_detached(srv->store, ev);
		(*changed)++;
	}
}

/* TLS is up: map the certificate to a principal, or refuse. */
static void
authenticate(struct session *s)
{
	SSL			*ssl = bufferevent_openssl_get_ssl(s->bev);
	const struct principal	*p;
	char			 identity[SESSION_IDENTITY_MAX];
	char			 err[400], subject[256], actor[300];

	tls_peer_subject(ssl, subject, sizeof(subject));
	snprintf(actor, sizeof(actor), "cert:%s", subject);
	/* The TLS files were reloaded during the handshake: judge it again. */
	if (!tls_ssl_from(s->srv->tls, ssl) && tls_peer_check(s->srv->tls,
	    ssl, identity, sizeof(identity)) == -1) {
		snprintf(err, sizeof(err), "certificate verify failed: %s (TLS "
		    "files reloaded during the handshake)", identity);
		metrics_refusal(metrics_tls_reason(err));
		audit_session(s, AUDIT_AUTH_REFUSED,
		    actor, err);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "certificate refused: %s", err);
		session_close(s, err);
		return;
	}
	if (tls_peer_identity(ssl, s->srv->cfg->identity_field, identity,
	    sizeof(identity), err, sizeof(err)) == -1) {
		metrics_refusal("identity");
		audit_session(s, AUDIT_AUTH_REFUSED,
		    actor, err);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "certificate refused: %s", err);
		session_close(s, err);
		return;
	}
	if ((p = identity_lookup(s->srv->ids, identity)) == NULL) {
		snprintf(err, sizeof(err), "certificate identity '%s' maps "
		    "to no principal", identity);
		metrics_refusal("unmapped");
		audit_session(s, AUDIT_AUTH_REFUSED,
		    actor, err);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "%s", err);
		session_close(s, err);
		return;
	}
	if (principal_over_limit(s, p->id, err, sizeof(err))) {
		metrics_refusal("max_connections_principal");
		log_info("session=%s principal=%s peer=%s event=auth_refused "
		    "reason=\"%s\"", s->name, p->id, s->peer, err);
		audit_session(s, AUDIT_AUTH_REFUSED,
		    p->id, err);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_LIMIT,
		    "%s", err);
		session_close(s, err);
		return;
	}
	if (store_hold_nearly_full(s->srv->store)) {
		snprintf(err, sizeof(err), "the audit store is unavailable "
		    "and the audit rows held for it are near their bound "
		    "(store_hold_max_bytes); new sessions are refused until "
		    "it returns");
		metrics_refusal("store_unavailable");
		log_info("session=%s principal=%s peer=%s event=auth_refused "
		    "reason=\"%s\"", s->name, p->id, s->peer, err);
		audit_session(s, AUDIT_AUTH_REFUSED, p->id, err);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
		    "%s", err);
		session_close(s, err);
		return;
	}
	if ((s->principal = principal_dup(p)) == NULL ||
	    sessidx_set_principal(s->srv->index, s->id, p->id) == -1) {
		session_abort(s, "out of memory");
		return;
	}
	session_log(info, s,
	    "role=%s peer=%s event=connect "
	    "tls=%s",
	    s->principal->role, s->peer, SSL_get_version(ssl));
	audit_session(s, AUDIT_CONNECT,
	    s->principal->id, NULL);
	arm_expiry(s, ssl);
	session_set_state(s, SESSION_AUTHENTICATED);
	/* A Hello may have arrived with the handshake's last flight. */
	read_cb(s->bev, s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	SSL		*ssl;
	unsigned long	 e;
	char		 reason[512], subject[256], actor[300];

	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SESSION_HANDSHAKE)
			authenticate(s);
		return;
	}
	if (s->state == SESSION_HANDSHAKE && (what & (BEV_EVENT_ERROR |
	    BEV_EVENT_EOF))) {
		ssl = bufferevent_openssl_get_ssl(bev);
		e = bufferevent_get_openssl_error(bev);
		tls_failure_reason(ssl, e, reason, sizeof(reason), subject,
		    sizeof(subject));
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		snprintf(actor, sizeof(actor), "cert:%s", subject);
		log_info("session=%s principal=- peer=%s event=auth_refused "
		    "subject=\"%s\" reason=\"%s\"", s->name, s->peer, subject,
		    reason);
		metrics_refusal(metrics_tls_reason(reason));
		audit_session(s, AUDIT_AUTH_REFUSED,
		    actor, reason);
		session_abort(s, reason);
		return;
	}
	if (what & BEV_EVENT_EOF)
		session_abort(s, "peer closed the connection");
	else if (what & BEV_EVENT_ERROR) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		ERR_clear_error();
		session_abort(s, "connection error");
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	char		 reason[128];

	switch (s->state) {
	case SESSION_HANDSHAKE:
		snprintf(reason, sizeof(reason), "TLS handshake not finished "
		    "within %u s (handshake_timeout)",
		    s->srv->cfg->handshake_timeout);
		metrics_refusal("handshake_timeout");
		audit_session(s, AUDIT_AUTH_REFUSED,
		    NULL, reason);
		session_abort(s, reason);
		break;
	case SESSION_AUTHENTICATED:
		snprintf(reason, sizeof(reason), "no hello within %u s "
		    "(handshake_timeout)", s->srv->cfg->handshake_timeout);
		metrics_refusal("handshake_timeout");
		protocol_error(s, 0, NWD__V1__ERROR_CODE__ERROR_TIMEOUT,
		    reason);
		break;
	case SESSION_ACTIVE:
		snprintf(reason, sizeof(reason), "idle for %u s "
		    "(idle_timeout)", s->srv->cfg->idle_timeout);
		metrics_refusal("idle_timeout");
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_TIMEOUT,
		    "%s", reason);
		session_close(s, reason);
		break;
	case SESSION_CLOSING:
		break;
	}
}

/*
 * A session lives no longer than the certificate that opened it: a timer
 * at the earliest notAfter of its verified chain (the wall clock may
 * move meanwhile: expiry_cb() checks again before it acts).
 */
static void
arm_expiry(struct session *s, SSL *ssl)
{
	struct timeval	tv;
	time_t		until = tls_peer_not_after(ssl);
	int64_t		ms;

	if (until == 0)
		return;
	s->not_after = until;
	ms = (int64_t)until * 1000 - clock_real_ms() + 1000;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->expiry, &tv);
}

static void
expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	char		 reason[160], when[32];
	struct tm	 tm;
	int64_t		 left;

	if (s->state == SESSION_CLOSING || s->state == SESSION_HANDSHAKE)
		return;
	left = (int64_t)s->not_after * 1000 - clock_real_ms();
	if (left >= 0) {
		/* The wall clock went back: wait the rest. */
		struct timeval tv = { (time_t)(left / 1000) + 1, 0 };

		evtimer_add(s->expiry, &tv);
		return;
	}
	gmtime_r(&s->not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(reason, sizeof(reason), "client certificate expired at %s "
	    "during the session", when);
	metrics_refusal("tls_expired");
	session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "%s",
	    reason);
	session_goodbye(s, reason);
}

void
session_delivery_sent(struct session *s, uint64_t delivery_id)
{
	struct session_unacked *u;

	if (s->unacked == NULL)
		return;
	u = &s->unacked[(s->unacked_next + SESSION_MAX_UNACKED - 1) %
	    SESSION_MAX_UNACKED];
	if (u->delivery_id == delivery_id)
		u->end = s->out_added;
}

uint64_t
session_delivery_add(struct session *s, const char *message_id,
    const char *durable)
{
	struct session_unacked *u;

	/* Only sessions that receive deliveries pay for the ring. */
	if (s->unacked == NULL && (s->unacked = calloc(SESSION_MAX_UNACKED,
	    sizeof(*s->unacked))) == NULL) {
		session_log(warnx, s,
		    "event=ack_untracked "
		    "reason=\"out of memory\"");
		return ++s->next_delivery_id;
	}
	u = &s->unacked[s->unacked_next];
	if (u->delivery_id != 0 && !s->unacked_overflowed) {
		/* Once per session: the durable queue still holds them. */
		s->unacked_overflowed = 1;
		session_log(warnx, s,
		    "event=unacked_overflow "
		    "limit=%d reason=\"the subscriber acknowledges too "
		    "little; older deliveries can no longer be acked on this "
		    "session\"",
		    SESSION_MAX_UNACKED);
	}
	if (u->delivery_id != 0 && u->durable[0] != '\0')
		s->durable_unacked--;
	if (durable != NULL && durable[0] != '\0')
		s->durable_unacked++;
	u->delivery_id = ++s->next_delivery_id;
	u->end = 0;
	snprintf(u->message_id, sizeof(u->message_id), "%s", message_id);
	snprintf(u->durable, sizeof(u->durable), "%s",
	    durable != NULL ? durable : "");
	s->unacked_next = (s->unacked_next + 1) % SESSION_MAX_UNACKED;
	return u->delivery_id;
}

int
session_delivery_sent_before(const struct session *s, const char *message_id)
{
	size_t i;

	if (s->unacked == NULL)
		return 0;
	for (i = 0; i < SESSION_MAX_UNACKED; i++)
		if (s->unacked[i].message_id[0] != '\0' &&
		    strcmp(s->unacked[i].message_id, message_id) == 0)
			return 1;
	return 0;
}

int
session_delivery_ack(struct session *s, uint64_t delivery_id, char mid[37],
    char durable[65])
{
	size_t i;

	if (delivery_id == 0 || s->unacked == NULL)
		return -1;
	for (i = 0; i < SESSION_MAX_UNACKED; i++) {
		if (s->unacked[i].delivery_id == delivery_id) {
			memcpy(mid, s->unacked[i].message_id, 37);
			memcpy(durable, s->unacked[i].durable, 65);
			if (durable[0] != '\0')
				s->durable_unacked--;
			s->unacked[i].delivery_id = 0;
			return 0;
		}
	}
	return -1;
}
