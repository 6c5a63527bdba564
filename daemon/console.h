/*
 * console: the auditor's console, HTTPS on its own listener
 * (console_listen).  The client certificate is judged by the broker's TLS
 * context (same CA, CRL) and mapped to a principal by the same mapping;
 * only the roles of console_roles get in, anyone else gets a plain 403
 * page.  Every page, export and refusal is a console_view audit row,
 * committed before the page is sent: nothing is shown that is not on
 * record.  The POST that changes something (closing a break-glass review)
 * carries a CSRF token bound to the principal and a per-browser cookie.
 * Rendering is console_pages.c; escaping and local times console_html.c.
 */
#ifndef NWD_CONSOLE_H
#define NWD_CONSOLE_H

#include <stddef.h>

struct server;
struct console;

/* Listens on console_listen; srv is borrowed and outlives the console.
 * NULL with the cause in err. */
struct console	*console_new(struct server *srv, char *err, size_t errlen);
/* Stops listening; NULL is a no-op. */
void		 console_free(struct console *c);

#endif
