/*
 * httpd: the daemon's own HTTP endpoint, for monitoring, on a loopback
 * address (metrics_listen).  libevent's evhttp on the daemon's loop.
 *
 *   GET /metrics   the metrics (metrics.h) in the Prometheus text format,
 *                  gauges refreshed from the server first
 *   GET /healthz   200 "ok" while the daemon can audit right now (the
 *                  store is ready and its queue is not full), else 503
 *                  with a one-line reason
 *
 * HEAD as GET without the body; another method is 405, another path 404.
 * No authentication: the address must be loopback (config.c refuses
 * another), and nothing served names a principal or a subject.
 */
#ifndef NWD_HTTPD_H
#define NWD_HTTPD_H

#include <stddef.h>

struct server;
struct httpd;

/*
 * Builds the daemon's metrics registry and listens on the configured
 * metrics address.  srv is borrowed and must outlive the endpoint.
 * Returns the endpoint, or NULL with the cause in err.
 */
struct httpd	*httpd_new(struct server *srv, char *err, size_t errlen);
/* Stops listening and drops the registry; NULL is a no-op. */
void		 httpd_free(struct httpd *h);

/*
 * Whether the daemon can audit now: 1 if so, else 0 with the reason (one
 * line) in why.
 */
int		 httpd_healthy(const struct server *srv, char *why,
		    size_t whylen);

#endif
