/*
 * reload: SIGHUP.  The TLS files, the policy and the principal mapping are
 * each read and judged anew; what is refused leaves the old one serving,
 * what is taken is swapped in at once.  Rights follow the new mapping: every
 * live session is looked up again (removed: closed; changed: it takes the
 * new principal).  Every reload, taken or refused, is an audit row saying
 * what changed.
 */
#ifndef NWD_RELOAD_H
#define NWD_RELOAD_H

#include <stddef.h>

struct policy;
struct server;

/*
 * Reloads everything.  Returns 0, or -1 if something was refused (the old
 * one stays; the log and the audit trail say why).
 */
int		 reload_run(struct server *srv);

/* At the first connect to the store: the files serving now, audited. */
void		 reload_audit_startup(struct server *srv);

/* Reads and parses a policy file; NULL with "FILE:LINE:COL: ..." in err. */
struct policy	*reload_load_policy(const char *path, char *err,
		    size_t errlen);

/*
 * Reads cfg's calendar (*out NULL if the config names none) and checks
 * that policy p can count its deadlines: a rule that counts working or
 * school days needs a calendar.  Returns 0, or -1 with the cause in err
 * (*out untouched).
 */
struct calendar;
int		 reload_load_calendar(const struct config *cfg,
		    const struct policy *p, struct calendar **out, char *err,
		    size_t errlen);

#endif
