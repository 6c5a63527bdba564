#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "session.h"

struct listener {
	struct server		*srv;	/* borrowed */
	struct evconnlistener	*evl;	/* owned */
	int			 port;
	uint64_t		 refused;	/* over max_connections */
};

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	struct server	*srv = l->srv;

	if (srv->draining) {
		close(fd);
		return;
	}
	if (srv->nsessions >= srv->cfg->max_connections) {
		l->refused++;
		metrics_refusal("max_connections");
		/* Logged once per hundred so a flood cannot flood the log. */
		if (l->refused % 100 == 1)
			log_warnx("event=connection_refused reason=\"%u "
			    "connections open (max_connections)\" "
			    "refused_total=%llu", srv->nsessions,
			    (unsigned long long)l->refused);
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	/* Deliveries go to subscribers that send nothing back: no Nagle. */
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	session_new(srv, fd, sa, (socklen_t)salen);
}

static void
error_cb(struct evconnlistener *evl, void *arg)
{
	log_warn("event=accept_error");
}

struct listener *
listener_new(struct server *srv, char *err, size_t errlen)
{
	struct listener		*l;
	struct evutil_addrinfo	 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->srv = srv;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	rc = evutil_getaddrinfo(srv->cfg->listen_host, srv->cfg->listen_port,
	    &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "listen %s:%s: %s", srv->cfg->listen_host,
		    srv->cfg->listen_port, evutil_gai_strerror(rc));
		goto bad;
	}
	l->evl = evconnlistener_new_bind(srv->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    512, res->ai_addr, (int)res->ai_addrlen);
	if (l->evl == NULL) {
		snprintf(err, errlen, "listen %s:%s: %s", srv->cfg->listen_host,
		    srv->cfg->listen_port, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
		goto bad;
	}
	evconnlistener_set_error_cb(l->evl, error_cb);
	if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss,
	    &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			l->port = ntohs(
			    ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	evutil_freeaddrinfo(res);
	return l;
bad:
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(l);
	return NULL;
}

void
listener_disable(struct listener *l)
{
	if (l != NULL && l->evl != NULL)
		evconnlistener_disable(l->evl);
}

int
listener_port(const struct listener *l)
{
	return l->port;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	free(l);
}
