#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "deadlines.h"
#include "cluster.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "tls.h"

#define HTTPD_TIMEOUT_SECS	10
#define HTTPD_MAX_HEADERS	8192
#define HTTPD_MAX_BODY		1024

struct httpd {
	struct server	*srv;		/* borrowed */
	struct evhttp	*http;		/* owned; owns its sockets */
	time_t		 started;
};

static const char *
store_state_name(enum store_state st)
{
	switch (st) {
	case STORE_DISCONNECTED:
		return "disconnected";
	case STORE_CONNECTING:
		return "connecting";
	case STORE_READY:
		return "ready";
	}
	return "unknown";
}

int
httpd_healthy(const struct server *srv, char *why, size_t whylen)
{
	enum store_state	st;
	size_t			pending;

	if (srv->draining) {
		snprintf(why, whylen, "shutting down");
		return 0;
	}
	if (srv->store == NULL) {
		snprintf(why, whylen, "audit store not started");
		return 0;
	}
	if (store_refusal(srv->store) != NULL) {
		snprintf(why, whylen, "audit chain refused, publishes are "
		    "refused: %s", store_refusal(srv->store));
		return 0;
	}
	if ((st = store_get_state(srv->store)) != STORE_READY) {
		snprintf(why, whylen, "audit store not ready (state=%s): "
		    "publishes are refused", store_state_name(st));
		return 0;
	}
	if (!cluster_policy_ok(srv->cluster, why, whylen))
		return 0;
	pending = store_pending(srv->store);
	if (pending >= srv->cfg->store_queue_max) {
		snprintf(why, whylen, "audit queue full (%zu of %u batches, "
		    "store_queue_max): publishes are refused", pending,
		    srv->cfg->store_queue_max);
		return 0;
	}
	snprintf(why, whylen, "ok");
	return 1;
}

/*
 * The process's figures from /proc/self (proc(5)), as Prometheus's client
 * libraries read them; -1 where unknown.
 */
static void
process_figures(struct metrics_process_figures *pf)
{
	FILE		*fp;
	DIR		*d;
	struct dirent	*de;
	struct rlimit	 rl;
	char		 buf[1024], *p, *tok, *save;
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
	unsigned long long btime = 0;
	double		 tck = (double)sysconf(_SC_CLK_TCK);
	double		 page = (double)sysconf(_SC_PAGESIZE);
	long		 n = 0;
	int		 field, got = 0;

	pf->cpu_seconds = pf->rss_bytes = pf->vsize_bytes = -1;
	pf->open_fds = pf->max_fds = pf->start_time = -1;
	/* Fields 14, 15 (utime, stime), 22 (starttime, ticks since boot),
	 * 23 (vsize, bytes) and 24 (rss, pages), counted after the command
	 * name, which may hold spaces and ends at the last ')'. */
	if ((fp = fopen("/proc/self/stat", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL) {
			for (field = 3, tok = strtok_r(p + 1, " ", &save);
			    tok != NULL && field <= 24;
			    field++, tok = strtok_r(NULL, " ", &save)) {
				if (field == 14)
					utime = strtoull(tok, NULL, 10);
				else if (field == 15)
					stime = strtoull(tok, NULL, 10);
				else if (field == 22)
					start = strtoull(tok, NULL, 10);
				else if (field == 23)
					vsize = strtoull(tok, NULL, 10);
				else if (field == 24) {
					rss = strtoull(tok, NULL, 10);
					got = 1;
				}
			}
		}
		fclose(fp);
	}
	if (got && tck > 0) {
		pf->cpu_seconds = (double)(utime + stime) / tck;
		pf->vsize_bytes = (double)vsize;
		pf->rss_bytes = (double)rss * page;
		if ((fp = fopen("/proc/stat", "r")) != NULL) {
			while (fgets(buf, sizeof(buf), fp) != NULL)
				if (sscanf(buf, "btime %llu", &btime) == 1)
					break;
			fclose(fp);
		}
		if (btime > 0)
			pf->start_time = (double)btime + (double)start / tck;
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		pf->open_fds = (double)(n - 1);	/* less the directory's own */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		pf->max_fds = (double)rl.rlim_cur;
}

/* Sets the gauges that are read from the server rather than counted. */
static void
refresh(struct httpd *h)
{
	struct server	*srv = h->srv;
	struct session	*s;
	size_t		 i, unacked = 0;
	time_t		 cert, ca, crl;
	struct metrics_process_figures pf;
	uint64_t	 open, breached;

	metrics_sessions_reset();
	metrics_sessions_add(NULL, 0);
	for (i = 0; i < identity_count(srv->ids); i++)
		metrics_sessions_add(identity_at(srv->ids, i)->role, 0);
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		metrics_sessions_add(s->principal != NULL ?
		    s->principal->role : NULL, 1);
		unacked += s->durable_unacked;
	}
	metrics_durable_unacked(unacked);
	metrics_cluster(cluster_peers(srv->cluster),
	    cluster_policy_differs(srv->cluster));
	deadlines_counts(srv->deadlines, &open, &breached);
	metrics_deadlines(open, breached);
	metrics_policy(policy_version(srv->policy));
	tls_expiry(srv->tls, &cert, &ca, &crl);
	metrics_tls(cert, ca, crl);
	if (srv->store != NULL) {
		metrics_store_state(store_state_name(
		    store_get_state(srv->store)));
		metrics_store_queue(store_pending(srv->store));
	}
	metrics_store_queue_max(srv->cfg->store_queue_max);
	process_figures(&pf);
	if (pf.start_time < 0)
		pf.start_time = (double)h->started;
	metrics_process(&pf);
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq	*hdrs = evhttp_request_get_output_headers(req);
	char			 clen[32];

	evhttp_add_header(hdrs, "Content-Type", type);
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	if (code == 405)
		evhttp_add_header(hdrs, "Allow", "GET, HEAD");
	/* HEAD: the length the body would have, and no body. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(hdrs, "Content-Length", clen);
	} else
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	evhttp_send_reply(req, code, reason, NULL);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *line)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	reply(req, code, reason, "text/plain; charset=utf-8", buf, n);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct httpd		*h = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ?
				    evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	char			*text, why[1024];
	size_t			 len;

	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/healthz") != 0)) {
		reply_text(req, 404, "Not Found", "not found: this endpoint "
		    "serves /metrics and /healthz");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_text(req, 405, "Method Not Allowed", "method not "
		    "allowed: use GET or HEAD");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (httpd_healthy(h->srv, why, sizeof(why)))
			reply_text(req, 200, "OK", why);
		else
			reply_text(req, 503, "Service Unavailable", why);
		return;
	}
	refresh(h);
	if ((text = metrics_render_daemon(&len)) == NULL) {
		reply_text(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
	free(text);
}

struct httpd *
httpd_new(struct server *srv, char *err, size_t errlen)
{
	struct httpd	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL || metrics_init() == -1) {
		free(h);
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	h->srv = srv;
	h->started = time(NULL);
	metrics_build_info(PACKAGE_VERSION);
	if ((h->http = evhttp_new(srv->base)) == NULL) {
		snprintf(err, errlen, "metrics: cannot create the HTTP server");
		goto bad;
	}
	/* Every method reaches request_cb, which answers 405 itself. */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_timeout(h->http, HTTPD_TIMEOUT_SECS);
	evhttp_set_max_headers_size(h->http, HTTPD_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, HTTPD_MAX_BODY);
	evhttp_set_gencb(h->http, request_cb, h);
	if (evhttp_bind_socket_with_handle(h->http, srv->cfg->metrics_host,
	    (unsigned short)atoi(srv->cfg->metrics_port)) == NULL) {
		snprintf(err, errlen, "metrics_listen %s:%s: cannot listen: "
		    "%s", srv->cfg->metrics_host, srv->cfg->metrics_port,
		    strerror(errno));
		goto bad;
	}
	log_info("event=metrics_listen addr=%s:%s paths=/metrics,/healthz",
	    srv->cfg->metrics_host, srv->cfg->metrics_port);
	return h;
bad:
	httpd_free(h);
	return NULL;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	metrics_shutdown();
	free(h);
}
