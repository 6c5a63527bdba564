/*
 * listener: the listening socket.  Accepts connections, enforces
 * max_connections (a connection over the limit is closed at once and
 * logged), and hands each accepted socket to session_new().
 */
#ifndef NWD_LISTENER_H
#define NWD_LISTENER_H

#include <stddef.h>

struct server;
struct listener;

/* Binds host:port from the configuration; NULL with the reason in err. */
struct listener	*listener_new(struct server *srv, char *err, size_t errlen);
/* Stops accepting (drain); existing sessions are untouched. */
void		 listener_disable(struct listener *l);
void		 listener_free(struct listener *l);
/* The bound port (useful when the configuration asked for port 0). */
int		 listener_port(const struct listener *l);

#endif
