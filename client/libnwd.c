/*
 * libnwd: the blocking client.  One TCP socket in non-blocking mode, OpenSSL
 * on top through a small BIO that sends with MSG_NOSIGNAL (a library must
 * not let SIGPIPE kill its caller), and poll() for every wait, so that no
 * call blocks past its deadline.
 *
 * Every wait for a frame goes through wait_frame(), which also keeps the
 * session alive (a Ping when nothing has been sent for keepalive_ms), and
 * every frame that is not the one awaited goes through stray(): a delivery
 * is queued, a Goodbye or an Error that answers no request ends the
 * session, the keepalive's Pong and answers nobody waits for are dropped,
 * and an Error about an Ack sent without waiting is kept to be reported.
 * Such Acks carry request ids with NWD_NOWAIT_TAG set, so that their
 * answers are known by their id alone, with no table to grow; Publishes
 * sent without waiting (nwd_publish_send()) carry NWD_PIPE_TAG, and
 * nwd_publish_result() takes their answers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "frame.h"
#include "nwd.h"

#define NWD_CLIENT_NAME		"libnwd"
#define NWD_RECV_SLACK		65536	/* a Deliver wraps a max_frame Publish */
#define NWD_QUEUE_MAX_BYTES	(64 * 1024 * 1024)
#define NWD_DECODE_FACTOR	64	/* decoded bytes per wire byte, at most */
#define NWD_NOWAIT_TAG		(UINT64_C(1) << 63)	/* nwd_ack_nowait() */
#define NWD_PIPE_TAG		(UINT64_C(1) << 62)	/* nwd_publish_send() */

/* A delivery that arrived while the caller waited for something else. */
struct nwd_queued {
	struct nwd_queued	*next;		/* owned by the queue */
	Nwd__V1__Deliver	*deliver;	/* owned */
	size_t			 size;		/* its frame's wire length */
};

struct nwd_client {
	int			 fd;		/* owned; -1 if none */
	SSL_CTX			*ctx;		/* owned */
	SSL			*ssl;		/* owned; owns the BIO */
	BIO_METHOD		*bio_method;	/* owned; outlives ssl */
	int			 timeout_ms;
	int			 keepalive_ms;	/* <= 0: no keepalive */
	int			 in_setup;	/* 1 until Welcome arrived */
	uint64_t		 next_id;	/* next request_id, never 0 */
	uint32_t		 send_max;	/* largest frame we may send */
	uint32_t		 recv_max;	/* largest frame we accept */
	Nwd__V1__Frame		*welcome;	/* owned: the Welcome frame */

	/* The frame being read; survives a timeout half-way. */
	uint8_t			 hdr[FRAME_HEADER_LEN];
	size_t			 hdr_got;
	uint8_t			*payload;	/* owned */
	size_t			 payload_len;
	size_t			 payload_got;

	struct nwd_queued	*qhead;		/* owned */
	struct nwd_queued	*qtail;		/* the last of qhead's list */
	size_t			 qbytes;

	/* Keepalive; times are monotonic milliseconds. */
	int64_t			 last_sent_ms;	/* the last frame we sent */
	int64_t			 last_recv_ms;	/* the last frame we read */
	uint64_t		 ping_id;	/* the keepalive Ping waiting for
					   its Pong, or 0 */
	int64_t			 ping_sent_ms;

	/* An Error answering an nwd_ack_nowait(), not yet reported. */
	enum nwd_status		 deferred;	/* NWD_OK if none */
	Nwd__V1__ErrorCode	 deferred_code;
	char			 deferred_msg[512];

	Nwd__V1__ErrorCode	 last_server_error;
	enum nwd_status		 dead;		/* NWD_OK while the session is up */
	char			 dead_msg[512];	/* why it ended */
};

static enum nwd_status	 read_frame(struct nwd_client *, int64_t,
			    Nwd__V1__Frame **, size_t *, char *, size_t);
static enum nwd_status	 setup_refused(struct nwd_client *, Nwd__V1__Frame *,
			    char *, size_t);

static enum nwd_status
seterr(char *err, size_t errlen, enum nwd_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum nwd_status
seterr(char *err, size_t errlen, enum nwd_status st, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return st;
}

/*
 * Ends the session: every later call fails with st and the same text.
 * Copies the text to err too.
 */
static enum nwd_status
die(struct nwd_client *c, char *err, size_t errlen, enum nwd_status st,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum nwd_status
die(struct nwd_client *c, char *err, size_t errlen, enum nwd_status st,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->dead_msg, sizeof(c->dead_msg), fmt, ap);
	va_end(ap);
	c->dead = st;
	return seterr(err, errlen, st, "%s", c->dead_msg);
}

/* Reports the kept error of an nwd_ack_nowait(), and forgets it. */
static enum nwd_status
take_deferred(struct nwd_client *c, char *err, size_t errlen)
{
	enum nwd_status st = c->deferred;

	c->deferred = NWD_OK;
	c->last_server_error = c->deferred_code;
	return seterr(err, errlen, st, "%s", c->deferred_msg);
}

/*
 * Every call's start: fails with the end of the session if it has ended,
 * or with the kept error of an nwd_ack_nowait() (once).
 */
static enum nwd_status
check_alive(struct nwd_client *c, char *err, size_t errlen)
{
	if (c == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no client");
	c->last_server_error = NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED;
	if (c->dead != NWD_OK)
		return seterr(err, errlen, c->dead, "%s", c->dead_msg);
	if (c->deferred != NWD_OK)
		return take_deferred(c, err, errlen);
	return NWD_OK;
}

const char *
nwd_status_name(enum nwd_status s)
{
	switch (s) {
	case NWD_OK:
		return "ok";
	case NWD_ERR_INVALID:
		return "invalid";
	case NWD_ERR_REFUSED:
		return "refused";
	case NWD_ERR_UNREACHABLE:
		return "unreachable";
	case NWD_ERR_TLS:
		return "tls";
	case NWD_ERR_UNAVAILABLE:
		return "unavailable";
	case NWD_ERR_PROTOCOL:
		return "protocol";
	case NWD_ERR_TIMEOUT:
		return "timeout";
	case NWD_ERR_CLOSED:
		return "closed";
	case NWD_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

static enum nwd_status
code_status(Nwd__V1__ErrorCode code)
{
	switch (code) {
	case NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE:
		return NWD_ERR_INVALID;
	case NWD__V1__ERROR_CODE__ERROR_FORBIDDEN:
	case NWD__V1__ERROR_CODE__ERROR_NOT_FOUND:
	case NWD__V1__ERROR_CODE__ERROR_LIMIT:
	case NWD__V1__ERROR_CODE__ERROR_CONFLICT:
		return NWD_ERR_REFUSED;
	case NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE:
	case NWD__V1__ERROR_CODE__ERROR_SHUTTING_DOWN:
		return NWD_ERR_UNAVAILABLE;
	case NWD__V1__ERROR_CODE__ERROR_TIMEOUT:
		return NWD_ERR_TIMEOUT;
	default:
		return NWD_ERR_PROTOCOL;
	}
}

/*
 * The status of a session the broker ended with an Error of code: as
 * code_status(), but a refusal that reconnecting will not change is
 * NWD_ERR_REFUSED, and the broker's idle timeout is the session closed,
 * not a timeout of ours.
 */
static enum nwd_status
end_status(Nwd__V1__ErrorCode code)
{
	switch (code) {
	case NWD__V1__ERROR_CODE__ERROR_FORBIDDEN:
	case NWD__V1__ERROR_CODE__ERROR_LIMIT:
	case NWD__V1__ERROR_CODE__ERROR_NOT_FOUND:
	case NWD__V1__ERROR_CODE__ERROR_CONFLICT:
		return NWD_ERR_REFUSED;
	case NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE:
	case NWD__V1__ERROR_CODE__ERROR_SHUTTING_DOWN:
		return NWD_ERR_UNAVAILABLE;
	case NWD__V1__ERROR_CODE__ERROR_TIMEOUT:
		return NWD_ERR_CLOSED;
	default:
		return NWD_ERR_PROTOCOL;
	}
}

/* ------------------------------------------------------------------------
 * Time
 */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline timeout_ms from now; -1 (no deadline) for a negative one. */
static int64_t
deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left before deadline, for poll(). */
static int
remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 1000000000 ? 1000000000 : (int)left;
}

/* Waits for events on fd: 1 when ready, 0 at the deadline, -1 on error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int		r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, remaining(deadline));
		if (r >= 0)
			return r > 0 ? 1 : 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ------------------------------------------------------------------------
 * A socket BIO that never raises SIGPIPE.
 */

static int
bio_sock_write(BIO *b, const char *buf, int len)
{
	struct nwd_client	*c = BIO_get_data(b);
	ssize_t			 n;

	BIO_clear_retry_flags(b);
	n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
bio_sock_read(BIO *b, char *buf, int len)
{
	struct nwd_client	*c = BIO_get_data(b);
	ssize_t			 n;

	BIO_clear_retry_flags(b);
	n = recv(c->fd, buf, (size_t)len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
bio_sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ------------------------------------------------------------------------
 * Connecting
 */

/* The reason of the oldest error in OpenSSL's queue, which it empties. */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long	 e, first = 0;
	const char	*r;

	while ((e = ERR_get_error()) != 0)
		if (first == 0)
			first = e;
	if (first == 0)
		return "unknown TLS error";
	if ((r = ERR_reason_error_string(first)) != NULL)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(first, buf, len);
	return buf;
}

static int
split_server(const char *server, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*colon, *h = server, *end;
	size_t		 n;

	if (server[0] == '[') {
		h = server + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
	} else {
		if ((colon = strrchr(server, ':')) == NULL ||
		    strchr(server, ':') != colon)
			return -1;
		end = colon;
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return atoi(port) > 0 && atoi(port) < 65536 ? 0 : -1;
}

/* Says why a file cannot be read, before OpenSSL says it less clearly. */
static int
readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f;

	if (path == NULL || path[0] == '\0') {
		seterr(err, errlen, NWD_ERR_INVALID, "no %s file given", what);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, errlen, NWD_ERR_INVALID, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Adds every CRL of the PEM file path to the context's store and turns on
 * the check of the broker's certificate against them.  Certificates in the
 * file are not taken (they would become trust anchors).
 */
static enum nwd_status
tls_crl(struct nwd_client *c, const char *path, char *err, size_t errlen)
{
	X509_STORE	*store = SSL_CTX_get_cert_store(c->ctx);
	X509_CRL	*crl;
	BIO		*bio;
	char		 reason[256];
	unsigned long	 e;
	int		 n = 0;

	if ((bio = BIO_new_file(path, "r")) == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "CRL %s: %s", path,
		    ssl_reason(reason, sizeof(reason)));
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			BIO_free(bio);
			return seterr(err, errlen, NWD_ERR_INTERNAL, "CRL %s: "
			    "%s", path, ssl_reason(reason, sizeof(reason)));
		}
		X509_CRL_free(crl);
		n++;
	}
	BIO_free(bio);
	/* The loop ends on "no start line" at the end of the file. */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
		return seterr(err, errlen, NWD_ERR_INVALID, "CRL %s: %s", path,
		    ssl_reason(reason, sizeof(reason)));
	ERR_clear_error();
	if (n == 0)
		return seterr(err, errlen, NWD_ERR_INVALID, "CRL %s: no PEM "
		    "X509 CRL in it", path);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return NWD_OK;
}

static enum nwd_status
tls_context(struct nwd_client *c, const struct nwd_opts *o, char *err,
    size_t errlen)
{
	enum nwd_status	st;
	char		reason[256];

	if (readable("CA", o->ca, err, errlen) == -1 ||
	    readable("certificate", o->cert, err, errlen) == -1 ||
	    readable("key", o->key, err, errlen) == -1)
		return NWD_ERR_INVALID;
	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return seterr(err, errlen, NWD_ERR_INTERNAL, "TLS context: %s",
		    ssl_reason(reason, sizeof(reason)));
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1)
		return seterr(err, errlen, NWD_ERR_INTERNAL, "TLS context: %s",
		    ssl_reason(reason, sizeof(reason)));
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (SSL_CTX_load_verify_locations(c->ctx, o->ca, NULL) != 1)
		return seterr(err, errlen, NWD_ERR_INVALID, "CA %s: %s", o->ca,
		    ssl_reason(reason, sizeof(reason)));
	if (o->crl != NULL && o->crl[0] != '\0' &&
	    (st = tls_crl(c, o->crl, err, errlen)) != NWD_OK)
		return st;
	if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1)
		return seterr(err, errlen, NWD_ERR_INVALID, "certificate %s: %s",
		    o->cert, ssl_reason(reason, sizeof(reason)));
	if (SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			return seterr(err, errlen, NWD_ERR_INVALID, "key %s "
			    "does not belong to certificate %s", o->key,
			    o->cert);
		}
		return seterr(err, errlen, NWD_ERR_INVALID, "key %s: %s",
		    o->key, ssl_reason(reason, sizeof(reason)));
	}
	if (SSL_CTX_check_private_key(c->ctx) != 1) {
		ERR_clear_error();
		return seterr(err, errlen, NWD_ERR_INVALID, "key %s does not "
		    "belong to certificate %s", o->key, o->cert);
	}
	return NWD_OK;
}

static enum nwd_status
tcp_connect(struct nwd_client *c, const char *host, const char *port,
    int64_t deadline, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 addr[NI_MAXHOST];
	socklen_t	 sl;
	int		 r, fd, soerr, one = 1;
	enum nwd_status	 st = NWD_ERR_UNREACHABLE;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
		return seterr(err, errlen, NWD_ERR_UNREACHABLE,
		    "cannot resolve %s: %s", host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	seterr(err, errlen, st, "%s has no address", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "%s", host);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			st = seterr(err, errlen, NWD_ERR_UNREACHABLE,
			    "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			st = seterr(err, errlen, NWD_ERR_UNREACHABLE,
			    "connect to %s port %s: %s", addr, port,
			    strerror(errno));
			close(fd);
			continue;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0) {
			st = seterr(err, errlen, NWD_ERR_TIMEOUT,
			    "connect to %s port %s: timed out after %d ms",
			    addr, port, c->timeout_ms);
			close(fd);
			break;
		}
		sl = sizeof(soerr);
		if (r == -1)
			soerr = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			st = seterr(err, errlen, NWD_ERR_UNREACHABLE,
			    "connect to %s port %s: %s", addr, port,
			    strerror(soerr));
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		st = NWD_OK;
		break;
	}
	freeaddrinfo(res);
	return st;
}

static int
is_ip_literal(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1;
}

static enum nwd_status
tls_handshake(struct nwd_client *c, const char *host, int64_t deadline,
    char *err, size_t errlen)
{
	BIO	*bio;
	char	 reason[256];
	long	 vr;
	int	 r, e, w;

	ERR_clear_error();
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    (c->bio_method = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "nwd socket")) == NULL ||
	    BIO_meth_set_write(c->bio_method, bio_sock_write) != 1 ||
	    BIO_meth_set_read(c->bio_method, bio_sock_read) != 1 ||
	    BIO_meth_set_ctrl(c->bio_method, bio_sock_ctrl) != 1 ||
	    (bio = BIO_new(c->bio_method)) == NULL)
		return seterr(err, errlen, NWD_ERR_INTERNAL, "TLS setup: %s",
		    ssl_reason(reason, sizeof(reason)));
	BIO_set_data(bio, c);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio);

	/* The broker's certificate must name what we connected to. */
	if (is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    host) != 1)
			return seterr(err, errlen, NWD_ERR_INTERNAL,
			    "TLS setup: %s", ssl_reason(reason,
			    sizeof(reason)));
	} else {
		SSL_set_hostflags(c->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, host) != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, host) != 1)
			return seterr(err, errlen, NWD_ERR_INTERNAL,
			    "TLS setup: %s", ssl_reason(reason,
			    sizeof(reason)));
	}

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			return NWD_OK;
		switch ((e = SSL_get_error(c->ssl, r))) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w == 0)
				return seterr(err, errlen, NWD_ERR_TIMEOUT,
				    "TLS handshake with %s: timed out after "
				    "%d ms", host, c->timeout_ms);
			if (w == -1)
				return seterr(err, errlen, NWD_ERR_TLS,
				    "TLS handshake with %s: poll: %s", host,
				    strerror(errno));
			continue;
		case SSL_ERROR_SSL:
			vr = SSL_get_verify_result(c->ssl);
			if (vr != X509_V_OK) {
				ERR_clear_error();
				return seterr(err, errlen, NWD_ERR_TLS,
				    "TLS handshake with %s failed: the "
				    "broker's certificate does not verify: %s",
				    host, X509_verify_cert_error_string(vr));
			}
			return seterr(err, errlen, NWD_ERR_TLS,
			    "TLS handshake with %s failed: %s", host,
			    ssl_reason(reason, sizeof(reason)));
		default:
			ERR_clear_error();
			return seterr(err, errlen, NWD_ERR_TLS,
			    "TLS handshake with %s failed: %s", host,
			    errno != 0 ? strerror(errno) :
			    "the broker closed the connection");
		}
	}
}

/* ------------------------------------------------------------------------
 * Frames
 */

/*
 * A write that fails before Welcome usually means that the broker refused
 * us: in TLS 1.3 it can refuse our certificate only after our side of the
 * handshake has finished, and it may refuse an unmapped certificate with an
 * Error frame and close at once.  Its alert or frame may still wait to be
 * read, and says more than our failed write.
 */
static enum nwd_status
setup_write_failed(struct nwd_client *c, int saved, char *err,
    size_t errlen)
{
	Nwd__V1__Frame	*f;
	enum nwd_status	 st;
	size_t		 wire;

	st = read_frame(c, deadline_in(0), &f, &wire, err, errlen);
	if (st == NWD_OK) {
		if (f->msg_case == NWD__V1__FRAME__MSG_ERROR ||
		    f->msg_case == NWD__V1__FRAME__MSG_GOODBYE)
			return setup_refused(c, f, err, errlen);
		frame_free(f);
	} else if (st != NWD_ERR_TIMEOUT)
		return st;
	ERR_clear_error();
	return die(c, err, errlen, NWD_ERR_TLS, "connection to the broker "
	    "lost before Welcome: %s (did it refuse our certificate?)",
	    saved != 0 ? strerror(saved) : "closed");
}

static enum nwd_status
write_all(struct nwd_client *c, const uint8_t *buf, size_t len,
    int64_t deadline, char *err, size_t errlen)
{
	char	reason[256];
	size_t	off = 0;
	int	r, e, w, chunk;

	while (off < len) {
		chunk = len - off > INT32_MAX ? INT32_MAX : (int)(len - off);
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_write(c->ssl, buf + off, chunk)) > 0) {
			off += (size_t)r;
			continue;
		}
		switch ((e = SSL_get_error(c->ssl, r))) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w == 0)
				return die(c, err, errlen, NWD_ERR_CLOSED,
				    "the connection to the broker dropped: it "
				    "took nothing we sent for %d ms",
				    c->timeout_ms);
			if (w == -1)
				return die(c, err, errlen, NWD_ERR_INTERNAL,
				    "poll: %s", strerror(errno));
			continue;
		case SSL_ERROR_SSL:
			if (c->in_setup)
				return setup_write_failed(c, 0, err, errlen);
			return die(c, err, errlen, NWD_ERR_PROTOCOL, "sending to "
			    "the broker: %s", ssl_reason(reason,
			    sizeof(reason)));
		default:
			if (c->in_setup)
				return setup_write_failed(c, errno, err,
				    errlen);
			ERR_clear_error();
			return die(c, err, errlen, NWD_ERR_CLOSED, "the "
			    "connection to the broker dropped: %s", errno != 0 ?
			    strerror(errno) : "closed without a Goodbye");
		}
	}
	return NWD_OK;
}

static enum nwd_status
send_frame(struct nwd_client *c, Nwd__V1__Frame *f, int64_t deadline,
    char *err, size_t errlen)
{
	enum nwd_status	 st;
	uint8_t		*buf;
	size_t		 n, len;

	n = nwd__v1__frame__get_packed_size(f);
	if (n > c->send_max)
		return seterr(err, errlen, NWD_ERR_INVALID, "the %s frame is "
		    "%zu bytes; the broker accepts at most %u",
		    frame_msg_name(f), n, c->send_max);
	if ((buf = frame_encode(f, c->send_max, &len)) == NULL)
		return seterr(err, errlen, NWD_ERR_INTERNAL, "encoding the %s "
		    "frame: out of memory", frame_msg_name(f));
	st = write_all(c, buf, len, deadline, err, errlen);
	free(buf);
	if (st == NWD_OK)
		c->last_sent_ms = now_ms();
	return st;
}

/* Maps a failed SSL_read() to the end of the session. */
static enum nwd_status
read_failed(struct nwd_client *c, int e, char *err, size_t errlen)
{
	char		 reason[256];
	unsigned long	 code;
	int		 saved = errno;

	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    saved == 0)) {
		ERR_clear_error();
		if (c->in_setup)
			return die(c, err, errlen, NWD_ERR_TLS, "the broker "
			    "closed the connection before Welcome (did it "
			    "refuse our certificate?)");
		return die(c, err, errlen, NWD_ERR_CLOSED, "the connection "
		    "to the broker dropped: it was closed without a Goodbye or "
		    "an Error");
	}
	if (e == SSL_ERROR_SYSCALL) {
		ERR_clear_error();
		if (c->in_setup)
			return die(c, err, errlen, NWD_ERR_TLS, "connection to "
			    "the broker lost before Welcome: %s (did it refuse "
			    "our certificate?)", strerror(saved));
		return die(c, err, errlen, NWD_ERR_CLOSED, "the connection to "
		    "the broker dropped: %s", strerror(saved));
	}
	code = ERR_peek_error();
	if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
	    ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
	    !c->in_setup) {
		ERR_clear_error();
		return die(c, err, errlen, NWD_ERR_CLOSED, "the connection "
		    "to the broker dropped: it was closed without a Goodbye or "
		    "an Error");
	}
	if (c->in_setup)
		return die(c, err, errlen, NWD_ERR_TLS, "the broker rejected "
		    "the TLS session: %s", ssl_reason(reason, sizeof(reason)));
	return die(c, err, errlen, NWD_ERR_PROTOCOL, "reading from the "
	    "broker: %s", ssl_reason(reason, sizeof(reason)));
}

/*
 * Reads the next frame into *out (the caller frees it with frame_free()).
 * A frame read half-way when the deadline passes is kept for the next call;
 * NWD_ERR_TIMEOUT leaves the session up.  *wire gets the frame's length.
 */
static enum nwd_status
read_frame(struct nwd_client *c, int64_t deadline, Nwd__V1__Frame **out,
    size_t *wire, char *err, size_t errlen)
{
	char		 why[256];
	uint8_t		*dst;
	size_t		 want;
	uint32_t	 n;
	int		 r, e, w;

	for (;;) {
		if (c->hdr_got < FRAME_HEADER_LEN) {
			dst = c->hdr + c->hdr_got;
			want = FRAME_HEADER_LEN - c->hdr_got;
		} else {
			if (c->payload == NULL) {
				n = frame_peek_length(c->hdr);
				if (!frame_length_ok(n, c->recv_max))
					return die(c, err, errlen,
					    NWD_ERR_PROTOCOL, "the broker sent "
					    "a frame of %u bytes; the limit "
					    "is %u", n, c->recv_max);
				if ((c->payload = malloc(n)) == NULL)
					return die(c, err, errlen,
					    NWD_ERR_INTERNAL, "out of memory");
				c->payload_len = n;
				c->payload_got = 0;
			}
			if (c->payload_got == c->payload_len) {
				*out = frame_decode(c->payload, c->payload_len,
				    c->payload_len * NWD_DECODE_FACTOR + 65536,
				    why, sizeof(why));
				*wire = c->payload_len + FRAME_HEADER_LEN;
				free(c->payload);
				c->payload = NULL;
				c->hdr_got = 0;
				if (*out == NULL)
					return die(c, err, errlen,
					    NWD_ERR_PROTOCOL, "the broker sent "
					    "a bad frame: %s", why);
				return NWD_OK;
			}
			dst = c->payload + c->payload_got;
			want = c->payload_len - c->payload_got;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, dst, want > INT32_MAX ? INT32_MAX :
		    (int)want);
		if (r > 0) {
			if (c->hdr_got < FRAME_HEADER_LEN)
				c->hdr_got += (size_t)r;
			else
				c->payload_got += (size_t)r;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return read_failed(c, e, err, errlen);
		w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline);
		if (w == 0)
			return seterr(err, errlen, NWD_ERR_TIMEOUT, "no answer "
			    "from the broker in time");
		if (w == -1)
			return die(c, err, errlen, NWD_ERR_INTERNAL, "poll: %s",
			    strerror(errno));
	}
}

/* Moves a Deliver out of its frame onto the queue; frees the frame. */
static enum nwd_status
enqueue(struct nwd_client *c, Nwd__V1__Frame *f, size_t wire, char *err,
    size_t errlen)
{
	struct nwd_queued *q;

	if (c->qbytes + wire > NWD_QUEUE_MAX_BYTES) {
		frame_free(f);
		return die(c, err, errlen, NWD_ERR_INTERNAL, "more than %d "
		    "bytes of deliveries are waiting to be read",
		    NWD_QUEUE_MAX_BYTES);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		frame_free(f);
		return die(c, err, errlen, NWD_ERR_INTERNAL, "out of memory");
	}
	q->deliver = f->deliver;
	q->size = wire;
	f->deliver = NULL;
	f->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	frame_free(f);
	if (c->qtail != NULL)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
	c->qbytes += wire;
	return NWD_OK;
}

static Nwd__V1__Deliver *
dequeue(struct nwd_client *c)
{
	struct nwd_queued	*q = c->qhead;
	Nwd__V1__Deliver	*d;

	if (q == NULL)
		return NULL;
	if ((c->qhead = q->next) == NULL)
		c->qtail = NULL;
	c->qbytes -= q->size;
	d = q->deliver;
	free(q);
	return d;
}

/* Returns 1 if f ends the session: a Goodbye, or an Error that answers none. */
static int
ends_session(const Nwd__V1__Frame *f)
{
	if (f->msg_case == NWD__V1__FRAME__MSG_GOODBYE)
		return 1;
	return f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
	    f->request_id == 0 && f->error->request_id == 0;
}

/* Ends the session with the text of a Goodbye or Error; frees f. */
static enum nwd_status
session_ended(struct nwd_client *c, Nwd__V1__Frame *f, char *err,
    size_t errlen)
{
	enum nwd_status st;

	if (f->msg_case == NWD__V1__FRAME__MSG_GOODBYE) {
		/* The broker says Goodbye only when it stops. */
		st = die(c, err, errlen, NWD_ERR_CLOSED, "the broker is "
		    "shutting down: %s", f->goodbye->reason[0] != '\0' ?
		    f->goodbye->reason : "no reason given");
	} else {
		c->last_server_error = f->error->code;
		st = die(c, err, errlen, end_status(f->error->code),
		    "the broker ended the session: %s: %s",
		    frame_error_code_name(f->error->code), f->error->text);
	}
	frame_free(f);
	return st;
}

/* 1 if f answers an nwd_ack_nowait(). */
static int
answers_nowait(const Nwd__V1__Frame *f)
{
	return (f->request_id & NWD_NOWAIT_TAG) != 0 ||
	    (f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
	    (f->error->request_id & NWD_NOWAIT_TAG) != 0);
}

/*
 * Takes a frame that is not the one awaited; frees it.  Returns NWD_OK to
 * go on waiting, or the end of the session.
 */
static enum nwd_status
stray(struct nwd_client *c, Nwd__V1__Frame *f, size_t wire, char *err,
    size_t errlen)
{
	if (f->msg_case == NWD__V1__FRAME__MSG_DELIVER)
		return enqueue(c, f, wire, err, errlen);
	if (ends_session(f))
		return session_ended(c, f, err, errlen);
	if (f->msg_case == NWD__V1__FRAME__MSG_PONG && c->ping_id != 0 &&
	    f->request_id == c->ping_id)
		c->ping_id = 0;
	else if (f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
	    answers_nowait(f) && c->deferred == NWD_OK) {
		c->deferred = code_status(f->error->code);
		c->deferred_code = f->error->code;
		snprintf(c->deferred_msg, sizeof(c->deferred_msg), "an "
		    "acknowledgement sent without waiting failed: %s: %s",
		    frame_error_code_name(f->error->code), f->error->text);
	}
	/* Anything else answers a request nobody waits for any more. */
	frame_free(f);
	return NWD_OK;
}

/* Sends the keepalive's Ping; its Pong is taken by stray(). */
static enum nwd_status
keepalive_ping(struct nwd_client *c, char *err, size_t errlen)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	Nwd__V1__Ping	p = NWD__V1__PING__INIT;
	enum nwd_status	st;

	f.request_id = c->next_id++;
	p.nonce = f.request_id;
	f.msg_case = NWD__V1__FRAME__MSG_PING;
	f.ping = &p;
	if ((st = send_frame(c, &f, deadline_in(c->timeout_ms), err,
	    errlen)) != NWD_OK)
		return st;
	c->ping_id = f.request_id;
	c->ping_sent_ms = c->last_sent_ms;
	return NWD_OK;
}

/*
 * read_frame() until deadline (-1: none), keeping the session alive
 * meanwhile: a Ping once nothing has been sent for keepalive_ms, and the
 * end of the session if nothing at all is heard for timeout_ms after it.
 * The keepalive is judged before the deadline, so that a caller polling
 * with a deadline of now keeps the session alive too.
 */
static enum nwd_status
wait_frame(struct nwd_client *c, int64_t deadline, Nwd__V1__Frame **out,
    size_t *wire, char *err, size_t errlen)
{
	enum nwd_status	st;
	int64_t		wake, due, heard;

	for (;;) {
		due = -1;
		if (c->ping_id != 0) {
			heard = c->last_recv_ms > c->ping_sent_ms ?
			    c->last_recv_ms : c->ping_sent_ms;
			due = heard + c->timeout_ms;
		} else if (c->keepalive_ms > 0)
			due = c->last_sent_ms + c->keepalive_ms;
		wake = deadline;
		if (due >= 0 && (wake < 0 || due < wake))
			wake = due;
		st = read_frame(c, wake, out, wire, err, errlen);
		if (st == NWD_OK)
			c->last_recv_ms = now_ms();
		if (st != NWD_ERR_TIMEOUT)
			return st;
		if (due >= 0 && now_ms() >= due) {
			if (c->ping_id != 0)
				return die(c, err, errlen, NWD_ERR_CLOSED,
				    "the connection to the broker dropped: no "
				    "answer to a keepalive Ping in %d ms",
				    c->timeout_ms);
			if ((st = keepalive_ping(c, err, errlen)) != NWD_OK)
				return st;
		}
		if (deadline >= 0 && now_ms() >= deadline)
			return seterr(err, errlen, NWD_ERR_TIMEOUT, "no answer "
			    "from the broker in time");
	}
}

/*
 * Sends f as request id and waits for the frame that answers it.  On NWD_OK
 * *out is the answer of type want (the caller frees it).  An Error answer
 * becomes its status with "CODE: text" in err.  Deliveries that arrive
 * meanwhile are queued; stale answers are dropped.
 */
static enum nwd_status
request(struct nwd_client *c, Nwd__V1__Frame *f,
    Nwd__V1__Frame__MsgCase want, Nwd__V1__Frame **out, char *err,
    size_t errlen)
{
	Nwd__V1__Frame	*a;
	enum nwd_status	 st;
	int64_t		 deadline = deadline_in(c->timeout_ms);
	uint64_t	 id;
	size_t		 wire;
	const char	*what = frame_msg_name(f);

	id = f->request_id = c->next_id++;
	if ((st = send_frame(c, f, deadline, err, errlen)) != NWD_OK)
		return st;
	for (;;) {
		st = wait_frame(c, deadline, &a, &wire, err, errlen);
		if (st == NWD_ERR_TIMEOUT)
			return seterr(err, errlen, st, "no answer to %s from "
			    "the broker in %d ms", what, c->timeout_ms);
		if (st != NWD_OK)
			return st;
		if (a->msg_case == NWD__V1__FRAME__MSG_DELIVER ||
		    ends_session(a)) {
			if ((st = stray(c, a, wire, err, errlen)) != NWD_OK)
				return st;
			continue;
		}
		if (a->msg_case == NWD__V1__FRAME__MSG_ERROR &&
		    (a->request_id == id || a->error->request_id == id)) {
			c->last_server_error = a->error->code;
			st = seterr(err, errlen, code_status(a->error->code),
			    "%s: %s", frame_error_code_name(a->error->code),
			    a->error->text);
			frame_free(a);
			return st;
		}
		if (a->request_id != id) {
			if ((st = stray(c, a, wire, err, errlen)) != NWD_OK)
				return st;
			continue;
		}
		if (a->msg_case != want) {
			st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
			    "answered %s with %s", what, frame_msg_name(a));
			frame_free(a);
			return st;
		}
		*out = a;
		return NWD_OK;
	}
}

/* ------------------------------------------------------------------------
 * The API
 */

/* Ends a session that the broker refused before Welcome; frees f. */
static enum nwd_status
setup_refused(struct nwd_client *c, Nwd__V1__Frame *f, char *err,
    size_t errlen)
{
	enum nwd_status st;

	if (f->msg_case != NWD__V1__FRAME__MSG_ERROR)
		return session_ended(c, f, err, errlen);
	c->last_server_error = f->error->code;
	st = die(c, err, errlen, code_status(f->error->code), "the broker "
	    "refused the session: %s: %s",
	    frame_error_code_name(f->error->code), f->error->text);
	frame_free(f);
	return st;
}

static enum nwd_status
hello(struct nwd_client *c, const char *client_name, int64_t deadline,
    char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Hello	 h = NWD__V1__HELLO__INIT;
	Nwd__V1__Welcome *w;
	enum nwd_status	 st;
	size_t		 wire;

	h.protocol_version = FRAME_PROTOCOL_VERSION;
	h.client_name = (char *)(client_name != NULL ? client_name :
	    NWD_CLIENT_NAME);
	f.request_id = c->next_id++;
	f.msg_case = NWD__V1__FRAME__MSG_HELLO;
	f.hello = &h;
	if ((st = send_frame(c, &f, deadline, err, errlen)) != NWD_OK)
		return st;
	st = read_frame(c, deadline, &a, &wire, err, errlen);
	if (st == NWD_ERR_TIMEOUT)
		return seterr(err, errlen, st, "no Welcome from the broker in "
		    "%d ms", c->timeout_ms);
	if (st != NWD_OK)
		return st;
	switch (a->msg_case) {
	case NWD__V1__FRAME__MSG_WELCOME:
		break;
	case NWD__V1__FRAME__MSG_ERROR:
	case NWD__V1__FRAME__MSG_GOODBYE:
		return setup_refused(c, a, err, errlen);
	default:
		st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
		    "answered hello with %s", frame_msg_name(a));
		frame_free(a);
		return st;
	}
	w = a->welcome;
	if (w->protocol_version != FRAME_PROTOCOL_VERSION) {
		st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker speaks "
		    "protocol version %u; this client speaks %u",
		    w->protocol_version, FRAME_PROTOCOL_VERSION);
		frame_free(a);
		return st;
	}
	c->welcome = a;
	if (w->max_frame != 0)
		c->send_max = w->max_frame;
	c->recv_max = (c->send_max > FRAME_DEFAULT_MAX ? c->send_max :
	    FRAME_DEFAULT_MAX) + NWD_RECV_SLACK;
	c->in_setup = 0;
	return NWD_OK;
}

struct nwd_client *
nwd_connect(const struct nwd_opts *o, enum nwd_status *status, char *err,
    size_t errlen)
{
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 host[256], port[8];
	int64_t			 deadline;

	if (o == NULL || o->server == NULL || o->server[0] == '\0') {
		st = seterr(err, errlen, NWD_ERR_INVALID, "no server given");
		goto out;
	}
	if (split_server(o->server, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		st = seterr(err, errlen, NWD_ERR_INVALID, "server \"%s\": "
		    "expected HOST:PORT or [IPV6]:PORT", o->server);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		st = seterr(err, errlen, NWD_ERR_INTERNAL, "out of memory");
		goto out;
	}
	c->fd = -1;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
	    NWD_DEFAULT_TIMEOUT_MS;
	c->keepalive_ms = o->keepalive_ms == 0 ? NWD_DEFAULT_KEEPALIVE_MS :
	    o->keepalive_ms;
	c->last_sent_ms = c->last_recv_ms = now_ms();
	c->next_id = 1;
	c->in_setup = 1;
	c->send_max = FRAME_DEFAULT_MAX;
	c->recv_max = FRAME_DEFAULT_MAX + NWD_RECV_SLACK;
	deadline = deadline_in(c->timeout_ms);

	if ((st = tls_context(c, o, err, errlen)) != NWD_OK ||
	    (st = tcp_connect(c, host, port, deadline, err, errlen)) !=
	    NWD_OK ||
	    (st = tls_handshake(c, host, deadline, err, errlen)) != NWD_OK ||
	    (st = hello(c, o->client_name, deadline, err, errlen)) != NWD_OK) {
		c->dead = st;
		nwd_close(c);
		goto out;
	}
	if (status != NULL)
		*status = NWD_OK;
	return c;
 out:
	if (status != NULL)
		*status = st;
	return NULL;
}

void
nwd_close(struct nwd_client *c)
{
	Nwd__V1__Deliver *d;

	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* One try at close_notify; the broker need not answer. */
		if (c->dead == NWD_OK) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);
		}
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	BIO_meth_free(c->bio_method);
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	while ((d = dequeue(c)) != NULL)
		nwd_deliver_free(d);
	free(c->payload);
	frame_free(c->welcome);
	free(c);
}

const Nwd__V1__Welcome *
nwd_welcome(const struct nwd_client *c)
{
	return c->welcome->welcome;
}

const Nwd__V1__Principal *
nwd_principal(const struct nwd_client *c)
{
	return c->welcome->welcome->principal;
}

Nwd__V1__ErrorCode
nwd_last_server_error(const struct nwd_client *c)
{
	return c != NULL ? c->last_server_error :
	    NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED;
}

/* Hands a's PublishAck to *ack (if ack is given) and frees a. */
static void
take_publish_ack(Nwd__V1__Frame *a, Nwd__V1__PublishAck **ack)
{
	if (ack != NULL) {
		*ack = a->publish_ack;
		a->publish_ack = NULL;
		a->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	}
	frame_free(a);
}

enum nwd_status
nwd_publish(struct nwd_client *c, const Nwd__V1__Envelope *env,
    Nwd__V1__PublishAck **ack, char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Publish p = NWD__V1__PUBLISH__INIT;
	enum nwd_status	 st;

	if (ack != NULL)
		*ack = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if (env == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no envelope");
	p.envelope = (Nwd__V1__Envelope *)env;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_PUBLISH_ACK, &a, err,
	    errlen)) != NWD_OK)
		return st;
	take_publish_ack(a, ack);
	return NWD_OK;
}

enum nwd_status
nwd_publish_send(struct nwd_client *c, const Nwd__V1__Envelope *env,
    uint64_t *id, char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Publish p = NWD__V1__PUBLISH__INIT;
	enum nwd_status	 st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if (env == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no envelope");
	p.envelope = (Nwd__V1__Envelope *)env;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	f.request_id = c->next_id++ | NWD_PIPE_TAG;
	if ((st = send_frame(c, &f, deadline_in(c->timeout_ms), err,
	    errlen)) != NWD_OK)
		return st;
	if (id != NULL)
		*id = f.request_id;
	return NWD_OK;
}

enum nwd_status
nwd_publish_result(struct nwd_client *c, uint64_t *id,
    Nwd__V1__PublishAck **ack, char *err, size_t errlen)
{
	Nwd__V1__Frame	*a;
	enum nwd_status	 st;
	int64_t		 deadline;
	size_t		 wire;
	uint64_t	 rid;

	*id = 0;
	if (ack != NULL)
		*ack = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	deadline = deadline_in(c->timeout_ms);
	for (;;) {
		st = wait_frame(c, deadline, &a, &wire, err, errlen);
		if (st == NWD_ERR_TIMEOUT)
			return seterr(err, errlen, st, "no answer to a Publish "
			    "from the broker in %d ms", c->timeout_ms);
		if (st != NWD_OK)
			return st;
		rid = a->request_id;
		if (a->msg_case == NWD__V1__FRAME__MSG_ERROR && rid == 0)
			rid = a->error->request_id;
		if ((rid & NWD_PIPE_TAG) == 0 || (rid & NWD_NOWAIT_TAG) != 0 ||
		    ends_session(a)) {
			if ((st = stray(c, a, wire, err, errlen)) != NWD_OK)
				return st;
			continue;
		}
		*id = rid;
		if (a->msg_case == NWD__V1__FRAME__MSG_ERROR) {
			c->last_server_error = a->error->code;
			st = seterr(err, errlen, code_status(a->error->code),
			    "%s: %s", frame_error_code_name(a->error->code),
			    a->error->text);
			frame_free(a);
			return st;
		}
		if (a->msg_case != NWD__V1__FRAME__MSG_PUBLISH_ACK) {
			st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
			    "answered Publish with %s", frame_msg_name(a));
			frame_free(a);
			return st;
		}
		take_publish_ack(a, ack);
		return NWD_OK;
	}
}

static enum nwd_status
subscribe(struct nwd_client *c, const Nwd__V1__Kind *kinds, size_t nkinds,
    const char *const *subjects, size_t nsubjects, const char *durable_name,
    int replace, uint64_t *sub_id, char *err, size_t errlen)
{
	Nwd__V1__Frame	   f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Subscribe s = NWD__V1__SUBSCRIBE__INIT;
	enum nwd_status	   st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if ((nkinds > 0 && kinds == NULL) || (nsubjects > 0 &&
	    subjects == NULL))
		return seterr(err, errlen, NWD_ERR_INVALID, "no kinds or "
		    "subjects array");
	s.n_kinds = nkinds;
	s.kinds = (Nwd__V1__Kind *)kinds;
	s.n_subjects = nsubjects;
	s.subjects = (char **)subjects;
	s.durable_name = (char *)(durable_name != NULL ? durable_name : "");
	s.replace = replace != 0;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_SUBSCRIBE_ACK, &a, err,
	    errlen)) != NWD_OK)
		return st;
	if (sub_id != NULL)
		*sub_id = a->subscribe_ack->subscription_id;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_subscribe(struct nwd_client *c, const Nwd__V1__Kind *kinds, size_t nkinds,
    const char *const *subjects, size_t nsubjects, const char *durable_name,
    uint64_t *sub_id, char *err, size_t errlen)
{
	return subscribe(c, kinds, nkinds, subjects, nsubjects, durable_name,
	    0, sub_id, err, errlen);
}

enum nwd_status
nwd_subscribe_durable(struct nwd_client *c, const Nwd__V1__Kind *kinds,
    size_t nkinds, const char *const *subjects, size_t nsubjects,
    const char *name, int replace, uint64_t *sub_id, char *err,
    size_t errlen)
{
	if (name == NULL || name[0] == '\0')
		return seterr(err, errlen, NWD_ERR_INVALID, "a durable "
		    "subscription needs a name");
	return subscribe(c, kinds, nkinds, subjects, nsubjects, name,
	    replace, sub_id, err, errlen);
}

enum nwd_status
nwd_unsubscribe(struct nwd_client *c, uint64_t sub_id, char *err,
    size_t errlen)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Unsubscribe	u = NWD__V1__UNSUBSCRIBE__INIT;
	enum nwd_status		st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	u.subscription_id = sub_id;
	f.msg_case = NWD__V1__FRAME__MSG_UNSUBSCRIBE;
	f.unsubscribe = &u;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_UNSUBSCRIBED, &a, err,
	    errlen)) != NWD_OK)
		return st;
	if (a->unsubscribed->subscription_id != sub_id)
		st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
		    "answered unsubscribe %" PRIu64 " with unsubscribed %"
		    PRIu64, sub_id, a->unsubscribed->subscription_id);
	frame_free(a);
	return st;
}

/*
 * A request whose answer is one message: sends f, waits for the answer of
 * case want, and hands that message to *out (the caller frees it as the
 * public function says).
 */
static enum nwd_status
call(struct nwd_client *c, Nwd__V1__Frame *f, Nwd__V1__Frame__MsgCase want,
    void **out, char *err, size_t errlen)
{
	const ProtobufCFieldDescriptor	*fd;
	Nwd__V1__Frame			*a;
	enum nwd_status			 st;
	void				**slot;

	*out = NULL;
	if ((fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__frame__descriptor, (unsigned)want)) == NULL ||
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return seterr(err, errlen, NWD_ERR_INVALID, "no such answer");
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if ((st = request(c, f, want, &a, err, errlen)) != NWD_OK)
		return st;
	slot = (void **)((char *)a + fd->offset);
	*out = *slot;
	*slot = NULL;
	a->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_deadlines(struct nwd_client *c, const Nwd__V1__DeadlineQuery *q,
    Nwd__V1__DeadlineList **out, char *err, size_t errlen)
{
	Nwd__V1__Frame f = NWD__V1__FRAME__INIT;

	if (out == NULL || q == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no query or result pointer");
	f.msg_case = NWD__V1__FRAME__MSG_DEADLINE_QUERY;
	f.deadline_query = (Nwd__V1__DeadlineQuery *)q;
	return call(c, &f, NWD__V1__FRAME__MSG_DEADLINE_LIST, (void **)out, err,
	    errlen);
}

enum nwd_status
nwd_breakglass(struct nwd_client *c, const Nwd__V1__BreakGlass *q,
    Nwd__V1__BreakGlassResult **out, char *err, size_t errlen)
{
	Nwd__V1__Frame f = NWD__V1__FRAME__INIT;

	if (out == NULL || q == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no request or result pointer");
	f.msg_case = NWD__V1__FRAME__MSG_BREAKGLASS;
	f.breakglass = (Nwd__V1__BreakGlass *)q;
	return call(c, &f, NWD__V1__FRAME__MSG_BREAKGLASS_RESULT, (void **)out, err,
	    errlen);
}

enum nwd_status
nwd_review(struct nwd_client *c, const Nwd__V1__Review *q,
    Nwd__V1__ReviewResult **out, char *err, size_t errlen)
{
	Nwd__V1__Frame f = NWD__V1__FRAME__INIT;

	if (out == NULL || q == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no request or result pointer");
	f.msg_case = NWD__V1__FRAME__MSG_REVIEW;
	f.review = (Nwd__V1__Review *)q;
	return call(c, &f, NWD__V1__FRAME__MSG_REVIEW_RESULT, (void **)out, err,
	    errlen);
}

enum nwd_status
nwd_sar_case(struct nwd_client *c, const Nwd__V1__SarCaseRequest *q,
    Nwd__V1__SarCaseResult **out, char *err, size_t errlen)
{
	Nwd__V1__Frame f = NWD__V1__FRAME__INIT;

	if (out == NULL || q == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no request or result pointer");
	f.msg_case = NWD__V1__FRAME__MSG_SAR_CASE_REQUEST;
	f.sar_case_request = (Nwd__V1__SarCaseRequest *)q;
	return call(c, &f, NWD__V1__FRAME__MSG_SAR_CASE_RESULT, (void **)out, err,
	    errlen);
}

enum nwd_status
nwd_durable_list(struct nwd_client *c, Nwd__V1__DurableListResult **out,
    char *err, size_t errlen)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__DurableList	l = NWD__V1__DURABLE_LIST__INIT;
	enum nwd_status		st;

	if (out == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no result pointer");
	*out = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	f.msg_case = NWD__V1__FRAME__MSG_DURABLE_LIST;
	f.durable_list = &l;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_DURABLE_LIST_RESULT, &a,
	    err, errlen)) != NWD_OK)
		return st;
	*out = a->durable_list_result;
	a->durable_list_result = NULL;
	a->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_durable_delete(struct nwd_client *c, const char *name,
    uint64_t *withdrawn, char *err, size_t errlen)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__DurableDelete	d = NWD__V1__DURABLE_DELETE__INIT;
	enum nwd_status		st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if (name == NULL || name[0] == '\0')
		return seterr(err, errlen, NWD_ERR_INVALID, "no durable "
		    "subscription name");
	d.name = (char *)name;
	f.msg_case = NWD__V1__FRAME__MSG_DURABLE_DELETE;
	f.durable_delete = &d;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_DURABLE_DELETED, &a,
	    err, errlen)) != NWD_OK)
		return st;
	if (withdrawn != NULL)
		*withdrawn = a->durable_deleted->withdrawn;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_next_delivery(struct nwd_client *c, int timeout_ms,
    Nwd__V1__Deliver **out, char *err, size_t errlen)
{
	Nwd__V1__Frame	*f;
	enum nwd_status	 st;
	int64_t		 deadline = deadline_in(timeout_ms);
	size_t		 wire;

	if (out == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no result pointer");
	*out = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if ((*out = dequeue(c)) != NULL)
		return NWD_OK;
	for (;;) {
		st = wait_frame(c, deadline, &f, &wire, err, errlen);
		if (st == NWD_ERR_TIMEOUT)
			return seterr(err, errlen, st, "no delivery in %d ms",
			    timeout_ms);
		if (st != NWD_OK)
			return st;
		if (f->msg_case == NWD__V1__FRAME__MSG_DELIVER) {
			*out = f->deliver;
			f->deliver = NULL;
			f->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
			frame_free(f);
			return NWD_OK;
		}
		if ((st = stray(c, f, wire, err, errlen)) != NWD_OK)
			return st;
		if (c->deferred != NWD_OK)
			return take_deferred(c, err, errlen);
	}
}

enum nwd_status
nwd_ack(struct nwd_client *c, uint64_t delivery_id, const char *message_id,
    char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *r;
	Nwd__V1__Ack	 a = NWD__V1__ACK__INIT;
	enum nwd_status	 st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	a.delivery_id = delivery_id;
	a.message_id = (char *)(message_id != NULL ? message_id : "");
	f.msg_case = NWD__V1__FRAME__MSG_ACK;
	f.ack = &a;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_ACKED, &r, err,
	    errlen)) != NWD_OK)
		return st;
	if (r->acked->delivery_id != delivery_id)
		st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
		    "answered the ack of delivery %" PRIu64 " with acked %"
		    PRIu64, delivery_id, r->acked->delivery_id);
	frame_free(r);
	return st;
}

enum nwd_status
nwd_ack_nowait(struct nwd_client *c, uint64_t delivery_id,
    const char *message_id, char *err, size_t errlen)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	Nwd__V1__Ack	a = NWD__V1__ACK__INIT;
	enum nwd_status	st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	a.delivery_id = delivery_id;
	a.message_id = (char *)(message_id != NULL ? message_id : "");
	f.request_id = c->next_id++ | NWD_NOWAIT_TAG;
	f.msg_case = NWD__V1__FRAME__MSG_ACK;
	f.ack = &a;
	return send_frame(c, &f, deadline_in(c->timeout_ms), err, errlen);
}

enum nwd_status
nwd_ping(struct nwd_client *c, char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Ping	 p = NWD__V1__PING__INIT;
	enum nwd_status	 st;

	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	p.nonce = c->next_id;	/* the request id request() will use */
	f.msg_case = NWD__V1__FRAME__MSG_PING;
	f.ping = &p;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_PONG, &a, err,
	    errlen)) != NWD_OK)
		return st;
	if (a->pong->nonce != p.nonce)
		st = die(c, err, errlen, NWD_ERR_PROTOCOL, "the broker "
		    "answered ping %" PRIu64 " with pong %" PRIu64, p.nonce,
		    a->pong->nonce);
	frame_free(a);
	return st;
}

enum nwd_status
nwd_explain(struct nwd_client *c, const char *principal,
    const Nwd__V1__Envelope *env, const char *const *to, size_t nto,
    int64_t at_unix_ms, Nwd__V1__ExplainResult **out, char *err,
    size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *a;
	Nwd__V1__Explain x = NWD__V1__EXPLAIN__INIT;
	enum nwd_status	 st;

	if (out == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no result pointer");
	*out = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if (principal == NULL || env == NULL || (nto > 0 && to == NULL))
		return seterr(err, errlen, NWD_ERR_INVALID, "no principal, "
		    "envelope or to array");
	x.principal = (char *)principal;
	x.envelope = (Nwd__V1__Envelope *)env;
	x.n_to = nto;
	x.to = (char **)to;
	x.at_unix_ms = at_unix_ms;
	f.msg_case = NWD__V1__FRAME__MSG_EXPLAIN;
	f.explain = &x;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_EXPLAIN_RESULT, &a, err,
	    errlen)) != NWD_OK)
		return st;
	*out = a->explain_result;
	a->explain_result = NULL;
	a->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_audit_query(struct nwd_client *c, const Nwd__V1__AuditQuery *q,
    Nwd__V1__AuditPage **out, char *err, size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *a;
	enum nwd_status	 st;

	if (out == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID,
		    "no result pointer");
	*out = NULL;
	if ((st = check_alive(c, err, errlen)) != NWD_OK)
		return st;
	if (q == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no query");
	f.msg_case = NWD__V1__FRAME__MSG_AUDIT_QUERY;
	f.audit_query = (Nwd__V1__AuditQuery *)q;
	if ((st = request(c, &f, NWD__V1__FRAME__MSG_AUDIT_PAGE, &a, err,
	    errlen)) != NWD_OK)
		return st;
	*out = a->audit_page;
	a->audit_page = NULL;
	a->msg_case = NWD__V1__FRAME__MSG__NOT_SET;
	frame_free(a);
	return NWD_OK;
}

enum nwd_status
nwd_run(struct nwd_client *c, nwd_deliver_cb cb, void *arg, char *err,
    size_t errlen)
{
	Nwd__V1__Deliver	*d;
	enum nwd_status		 st;
	int			 stop;

	if (cb == NULL)
		return seterr(err, errlen, NWD_ERR_INVALID, "no callback");
	for (;;) {
		if ((st = nwd_next_delivery(c, -1, &d, err, errlen)) != NWD_OK)
			return st;
		stop = cb(c, d, arg);
		nwd_deliver_free(d);
		if (stop)
			return NWD_OK;
	}
}

void
nwd_publish_ack_free(Nwd__V1__PublishAck *ack)
{
	if (ack != NULL)
		protobuf_c_message_free_unpacked(&ack->base, NULL);
}

void
nwd_deliver_free(Nwd__V1__Deliver *d)
{
	if (d != NULL)
		protobuf_c_message_free_unpacked(&d->base, NULL);
}

void
nwd_explain_result_free(Nwd__V1__ExplainResult *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

void
nwd_audit_page_free(Nwd__V1__AuditPage *p)
{
	if (p != NULL)
		protobuf_c_message_free_unpacked(&p->base, NULL);
}

void
nwd_durable_list_free(Nwd__V1__DurableListResult *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

void
nwd_breakglass_result_free(Nwd__V1__BreakGlassResult *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

void
nwd_review_result_free(Nwd__V1__ReviewResult *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

void
nwd_sar_case_result_free(Nwd__V1__SarCaseResult *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

void
nwd_deadline_list_free(Nwd__V1__DeadlineList *r)
{
	if (r != NULL)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}
