#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "calendar.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "cluster.h"
#include "reload.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "trail.h"

#define POLICY_MAX_BYTES	(16 * 1024 * 1024)

static char *
read_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	FILE	*fp;
	char	*buf;
	size_t	 len;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	len = fread(buf, 1, max + 1, fp);
	if (ferror(fp) || len > max) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ?
		    strerror(errno) : "file is too large");
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

struct policy *
reload_load_policy(const char *path, char *err, size_t errlen)
{
	struct policy	*p;
	char		*text;
	size_t		 len;

	if ((text = read_file(path, POLICY_MAX_BYTES, &len, err,
	    errlen)) == NULL)
		return NULL;
	p = policy_parse(text, len, path, err, errlen);
	free(text);
	return p;
}

static void
audit_policy_loaded(struct server *srv, const char *why)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s: %s, %zu rules", why,
	    srv->cfg->policy, policy_nrules(srv->policy));
	trail_daemon(srv->store, srv->cfg->instance, AUDIT_POLICY_LOADED,
	    policy_version(srv->policy), reason);
}

/* The TLS files serving now, audited: why ("startup", "reload"), then
 * tls_ctx_summary(). */
static void
audit_tls_loaded(struct server *srv, const char *why)
{
	char reason[1600];

	snprintf(reason, sizeof(reason), "%s: %s", why,
	    tls_ctx_summary(srv->tls));
	trail_daemon(srv->store, srv->cfg->instance, AUDIT_TLS_LOADED, NULL,
	    reason);
}

void
reload_audit_startup(struct server *srv)
{
	char reason[600];

	audit_policy_loaded(srv, "startup");
	snprintf(reason, sizeof(reason), "startup: %s, %s, %zu principals",
	    srv->cfg->principals, identity_version(srv->ids),
	    identity_count(srv->ids));
	trail_daemon(srv->store, srv->cfg->instance, AUDIT_PRINCIPALS_LOADED,
	    NULL, reason);
	audit_tls_loaded(srv, "startup");
}

/* A reload refused: logged and audited, the old one keeps serving. */
static void
refused(struct server *srv, const char *what, const char *err)
{
	char reason[900];

	log_warnx("event=reload_refused reason=\"%s\" what=\"%s\" "
	    "keeping_policy=%s keeping_principals=%s", err, what,
	    policy_version(srv->policy), identity_version(srv->ids));
	snprintf(reason, sizeof(reason), "%s reload refused: %s; keeping "
	    "policy %s and principals %s", what, err,
	    policy_version(srv->policy), identity_version(srv->ids));
	trail_daemon(srv->store, srv->cfg->instance, AUDIT_RELOAD_REFUSED,
	    policy_version(srv->policy), reason);
}

/*
 * The TLS half: builds a new context from the files the configuration
 * names.  If they are refused the old context keeps serving and the
 * refusal is logged and audited (tls_reload_refused).  Otherwise the new
 * context replaces srv->tls at once (new handshakes use it; live sessions
 * keep their SSL, which holds a reference to the old SSL_CTX), the load
 * is audited (tls_loaded), and every authenticated session whose client
 * certificate the new context does not accept is closed.  Returns 0 if
 * the new context was taken, -1 if it was refused.
 */
static int
reload_tls(struct server *srv)
{
	struct tls_ctx	*nt;
	char		 err[1024], reason[1600];
	unsigned int	 closed;

	if ((nt = tls_ctx_new(srv->cfg, err, sizeof(err))) == NULL) {
		log_warnx("event=tls_reload_refused reason=\"%s\" "
		    "keeping=\"%s\"", err, tls_ctx_summary(srv->tls));
		snprintf(reason, sizeof(reason), "reload refused: %s; keeping "
		    "%s", err, tls_ctx_summary(srv->tls));
		trail_daemon(srv->store, srv->cfg->instance,
		    AUDIT_TLS_RELOAD_REFUSED, NULL, reason);
		return -1;
	}
	tls_ctx_free(srv->tls);
	srv->tls = nt;
	audit_tls_loaded(srv, "reload");
	closed = session_recheck_certs(srv);
	log_info("event=tls_reload_done tls=\"%s\" sessions_closed=%u",
	    tls_ctx_summary(nt), closed);
	return 0;
}

int
reload_load_calendar(const struct config *cfg, const struct policy *p,
    struct calendar **out, char *err, size_t errlen)
{
	struct calendar	*cal = NULL;
	const char	*rule;
	char		 desc[512];

	if (cfg->calendar != NULL &&
	    (cal = calendar_load(cfg->calendar, err, errlen)) == NULL)
		return -1;
	if (cal == NULL && (rule = policy_deadline_needs_calendar(p)) !=
	    NULL) {
		snprintf(err, errlen, "%s: deadline rule \"%s\" counts working "
		    "or school days, but %s names no calendar (set calendar, "
		    "nwd-calendar(5))", cfg->policy, rule, cfg->path);
		return -1;
	}
	if (cal != NULL) {
		calendar_describe(cal, desc, sizeof(desc));
		log_info("event=calendar_loaded %s", desc);
	}
	*out = cal;
	return 0;
}

int
reload_run(struct server *srv)
{
	struct policy		*np;
	struct identity_map	*ni, *old;
	struct calendar		*nc;
	char			 err[512], diff[4096], reason[4400];
	unsigned int		 closed, changed;
	int			 tls_rc;

	log_info("event=reload_begin");
	/* Judged on their own: a broken policy must not hold back a CRL. */
	tls_rc = reload_tls(srv);
	if ((np = reload_load_policy(srv->cfg->policy, err,
	    sizeof(err))) == NULL) {
		refused(srv, "policy", err);
		return -1;
	}
	if ((ni = identity_load(srv->cfg->principals, err,
	    sizeof(err))) == NULL) {
		refused(srv, "principal mapping", err);
		policy_free(np);
		return -1;
	}
	if (policy_check_principals(np, ni, err, sizeof(err)) == -1) {
		refused(srv, "policy and principal mapping", err);
		identity_free(ni);
		policy_free(np);
		return -1;
	}
	if (reload_load_calendar(srv->cfg, np, &nc, err, sizeof(err)) == -1) {
		refused(srv, "calendar", err);
		identity_free(ni);
		policy_free(np);
		return -1;
	}
	calendar_free(srv->calendar);
	srv->calendar = nc;
	identity_diff(srv->ids, ni, diff, sizeof(diff));
	policy_free(srv->policy);
	srv->policy = np;
	old = srv->ids;
	srv->ids = ni;
	/* Rights follow the mapping: every live session, now. */
	session_remap(srv, ni, &closed, &changed);
	identity_free(old);
	log_info("event=reload_done policy=%s rules=%zu principals=%zu "
	    "mapping=%s sessions_closed=%u sessions_changed=%u",
	    policy_version(np), policy_nrules(np), identity_count(ni),
	    identity_version(ni), closed, changed);
	audit_policy_loaded(srv, "reload");
	cluster_policy_changed(srv->cluster);
	snprintf(reason, sizeof(reason), "reload: %s: %s; %u sessions closed, "
	    "%u changed", srv->cfg->principals, diff, closed, changed);
	trail_daemon(srv->store, srv->cfg->instance, AUDIT_PRINCIPALS_LOADED,
	    NULL, reason);
	return tls_rc;
}
