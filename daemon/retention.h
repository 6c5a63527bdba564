/*
 * retention: every purge_interval seconds, removes the bodies of messages
 * older than their kind's retention (config "retention") and audits each
 * purge.  Message headers and audit rows stay.
 */
#ifndef NWD_RETENTION_H
#define NWD_RETENTION_H

struct server;
struct retention;

/* Starts the purge timer; the first purge runs one interval from now. */
struct retention *retention_start(struct server *srv);
/* Runs a purge now (also what the timer does). */
void		 retention_purge_now(struct retention *r);
void		 retention_free(struct retention *r);

#endif
