/*
 * nwdd: the nwd information-sharing broker.
 *
 * main.c owns the process: command line, loading the configuration and the
 * files it names, the event loop, signals (through libevent), reload and
 * shutdown.  The work itself lives in the modules named in server.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alloc.h"
#include "anchor.h"
#include "audit.h"
#include "broker.h"
#include "calendar.h"
#include "chain.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "consents.h"
#include "corrections.h"
#include "breakglass.h"
#include "deadlines.h"
#include "durable.h"
#include "frame.h"
#include "console.h"
#include "httpd.h"
#include "identity.h"
#include "listener.h"
#include "log.h"
#include "migrate.h"
#include "policy.h"
#include "privdrop.h"
#include "reload.h"
#include "replay.h"
#include "retention.h"
#include "sdnotify.h"
#include "seal.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"
#include "store.h"
#include "tls.h"
#include "trail.h"

#define DRAIN_POLL_MS		20
#define NWDD_EXIT_IN_USE	3	/* the instance is held elsewhere */

/* Shutdown: stop reading requests, finish what was asked, say Goodbye. */
enum drain_phase {
	DRAIN_NONE,
	DRAIN_FINISH,		/* waiting for the batches in flight */
	DRAIN_FLUSH,		/* Goodbye sent; flushing, last audit rows */
};

static struct event	*drain_timer;	/* owned */
static enum drain_phase	 drain_phase;
static int64_t		 drain_deadline_ms;
static int		 drain_lost;	/* batches left unanswered */
static int		 ready_fd = -1;
static struct httpd	*httpd;		/* metrics endpoint, if configured */
static int		 serving;	/* READY has been reported */
static int		 in_use;	/* the instance is another's */
static struct event	*clock_timer;	/* test_clock: rereads the file */
static struct sdnotify	*notify;	/* owned */
static struct event	*watchdog_timer; /* owned; NULL: no watchdog */
static int		 watchdog_withheld;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: nwdd -c FILE [--ready-fd N]     run the broker in the foreground\n"
"       nwdd --check-config -c FILE     check the configuration, every\n"
"                                       file it names and the database,\n"
"                                       then exit (4: database unreachable)\n"
"       nwdd --check-policy FILE        check a sharing policy file\n"
"       nwdd --migrate -c FILE          apply database migrations as the\n"
"                                       owner role (migrate_database)\n"
"       nwdd --accept-restore -c FILE   accept the audit chain head the\n"
"                                       database holds (after a restore),\n"
"                                       audited; nwdd must be stopped\n"
"       nwdd --help | --version\n"
"\n"
"Options:\n"
"  -c, --config FILE   configuration file (key = value)\n"
"  --ready-fd N        write \"READY\\n\" to file descriptor N, then close it,\n"
"                      once the broker is listening and the audit store is\n"
"                      connected\n"
"\n"
"Signals: SIGHUP reloads the policy and the principal mapping, and the TLS\n"
"certificate, key, CA and CRL (each set judged apart: a broken file is\n"
"refused and the old set stays; sessions whose client certificate the new\n"
"CA or CRL refuses are closed); SIGTERM and SIGINT stop accepting\n"
"and reading requests, commit and answer the publishes in flight, send\n"
"every session a Goodbye and exit 0 within drain_timeout (1 if batches\n"
"were left unanswered).\n"
"\n"
"Under systemd (Type=notify): READY=1 once TLS, the database and the audit\n"
"chain head are loaded; RELOADING=1 and READY=1 around a reload;\n"
"STOPPING=1 on SIGTERM; STATUS= lines; WATCHDOG=1 pings from the event\n"
"loop every WATCHDOG_USEC/2, withheld while a database round trip has\n"
"taken longer than db_stall_timeout.  A file key set to credential:NAME\n"
"reads $CREDENTIALS_DIRECTORY/NAME (LoadCredential=NAME:PATH).\n"
"\n"
"At every connect nwdd compares the database's audit chain head with the\n"
"one it committed (state_directory/INSTANCE.state) and refuses to serve\n"
"if they differ (event=chain_refused, /healthz, STATUS=), until the\n"
"database is put back or an operator runs --accept-restore.\n"
"\n"
"Started as root, nwdd binds, reads its keys and certificates, then\n"
"switches to \"user\" for good; root without \"user\" is refused.  Key\n"
"files accessible by group or others, and a configuration file writable\n"
"by group or others or readable by others, are refused.\n"
"\n"
"Configuration keys:\n");
	config_print_reference(fp);
	fprintf(fp, "Exit status: 0 success, 1 error (the message says which "
	    "file, line and cause).\n");
}

/*
 * Whether an allocation row read at connect may be applied: one that its
 * message's publish row vouches for; one from before message hashes if
 * its message is an Allocation about its subject whose sealed body says
 * the same (or, purged, says nothing).  Returns 1, or 0 with the reason
 * in why.
 */
static int
allocation_checked(const struct server *srv, const struct store_alloc_row *r,
    char *why, size_t whylen)
{
	const Nwd__V1__Allocation	*a;
	Nwd__V1__Envelope		*env = NULL;
	struct seal_aad			 aad;
	uint8_t				*plain;
	size_t				 plen = 0;
	char				 err[160];
	int				 ok = 0;

	switch (r->proof) {
	case STORE_ALLOC_VOUCHED:
		return 1;
	case STORE_ALLOC_UNVOUCHED:
		snprintf(why, whylen, "%s", r->why != NULL ? r->why :
		    "nothing vouches for it");
		return 0;
	case STORE_ALLOC_LEGACY:
		break;
	}
	if (r->msg_kind != NWD__V1__KIND__ALLOCATION || r->msg_subject ==
	    NULL || strcmp(r->msg_subject, r->e.subject) != 0) {
		snprintf(why, whylen, "its message is not an Allocation about "
		    "its subject");
		return 0;
	}
	if (r->body == NULL)
		return 1;	/* purged: the header is all there is */
	aad.message_id = r->message_id;
	aad.subject = r->msg_subject;
	aad.kind = r->msg_kind;
	if ((plain = open_body(srv->sealer, r->key_id, &aad, r->body,
	    r->body_len, &plen, err, sizeof(err))) == NULL) {
		snprintf(why, whylen, "its message's body cannot be opened: "
		    "%s", err);
		return 0;
	}
	env = frame_decode_envelope(plain, plen, plen * 64 + 65536, err,
	    sizeof(err));
	explicit_bzero(plain, plen);
	free(plain);
	if (env == NULL || env->header == NULL ||
	    env->header->subject == NULL ||
	    env->body_case != NWD__V1__ENVELOPE__BODY_ALLOCATION ||
	    (a = env->allocation) == NULL)
		snprintf(why, whylen, "its message's body is not an "
		    "Allocation");
	else if (strcmp(env->header->subject->local_id, r->e.subject) != 0 ||
	    strcmp(a->team, r->e.team) != 0 ||
	    strcmp(a->worker, r->e.worker) != 0 ||
	    a->from_unix_ms != r->e.from_ms || a->until_unix_ms !=
	    r->e.until_ms)
		snprintf(why, whylen, "it is not the allocation its message "
		    "makes");
	else
		ok = 1;
	frame_free_envelope(env);
	return ok;
}

/*
 * At each database connect: rebuild the allocation table from the rows
 * that something vouches for; the others are refused, each logged.
 */
static int
allocations_cb(const struct store_alloc_row *rows, size_t n, void *arg)
{
	struct server		*srv = arg;
	struct alloc_table	*t;
	char			 why[256];
	size_t			 i, refused = 0;

	if ((t = alloc_table_new()) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (!allocation_checked(srv, &rows[i], why, sizeof(why))) {
			refused++;
			log_warnx("event=allocation_refused allocation_id=%s "
			    "message_id=%s reason=\"%s; not applied\"",
			    rows[i].id, rows[i].message_id, why);
			continue;
		}
		if (alloc_table_put(t, &rows[i].e) == -1) {
			alloc_table_free(t);
			return -1;
		}
	}
	alloc_table_free(srv->allocs);
	srv->allocs = t;
	log_info("event=allocations_loaded rows=%zu refused=%zu", n - refused,
	    refused);
	return 0;
}

/* At each database connect: rebuild the durable subscription registry. */
static int
subscriptions_cb(const struct store_subscription *rows, size_t n, void *arg)
{
	struct server		*srv = arg;
	struct durable_registry	*r;
	size_t			 i;

	if ((r = durable_registry_new()) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (durable_registry_put(r, &rows[i]) == -1) {
			durable_registry_free(r);
			return -1;
		}
	}
	durable_registry_free(srv->durables);
	srv->durables = r;
	log_info("event=subscriptions_loaded rows=%zu", n);
	return 0;
}

/* The keys that never enter the database. */
static int
load_keys(struct server *srv, char *err, size_t errlen)
{
	char		*copy, *tok, *save = NULL;
	const char	*paths[16];
	size_t		 n = 0;

	if ((copy = strdup(srv->cfg->body_keys)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL && n < 16;
	    tok = strtok_r(NULL, ",", &save))
		paths[n++] = tok;
	srv->sealer = sealer_load(paths, n, err, errlen);
	free(copy);
	if (srv->sealer == NULL)
		return -1;
	if ((srv->signer = chain_signer_load(srv->cfg->audit_signing_key, err,
	    errlen)) == NULL)
		return -1;
	return 0;
}

static void
reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct session	*s;

	while ((s = TAILQ_FIRST(&srv->zombies)) != NULL) {
		TAILQ_REMOVE(&srv->zombies, s, entry);
		session_free(s);
	}
}


/*
 * Tells systemd (if it is listening) what the daemon is doing.  prefix
 * ("READY=1\n", ...) goes first; a STATUS= line equal to the last one is
 * not sent again unless there is a prefix.
 */
static void
notify_status(struct server *srv, const char *prefix)
{
	static char	last[256];
	char		status[256];

	if (!sdnotify_enabled(notify))
		return;
	if (srv->draining)
		snprintf(status, sizeof(status), "draining: %u sessions, %zu "
		    "batches in flight", srv->nsessions,
		    store_pending(srv->store));
	else if (store_refusal(srv->store) != NULL)
		snprintf(status, sizeof(status), "refusing to serve: %s",
		    store_refusal(srv->store));
	else if (!serving)
		snprintf(status, sizeof(status), "waiting for the database "
		    "(TLS and policy loaded)");
	else if (store_get_state(srv->store) != STORE_READY)
		snprintf(status, sizeof(status), "database unavailable, "
		    "reconnecting; publishes are refused");
	else if (watchdog_withheld)
		snprintf(status, sizeof(status), "database stalled: a round "
		    "trip has taken over %u s (db_stall_timeout); watchdog "
		    "withheld", srv->cfg->db_stall_timeout);
	else
		snprintf(status, sizeof(status), "serving on %s:%d, policy %s",
		    srv->cfg->listen_host, listener_port(srv->listener),
		    policy_version(srv->policy));
	if (*prefix == '\0' && strcmp(status, last) == 0)
		return;
	snprintf(last, sizeof(last), "%s", status);
	sdnotify_send(notify, "%sSTATUS=%s", prefix, status);
}

/*
 * The first time the store is ready the daemon serves: READY to systemd
 * and to --ready-fd.  TLS and the policy were loaded before the loop; the
 * store is ready only with synchronous_commit checked, the schema's
 * statements prepared and the audit chain head read.
 */
static void
store_state_cb(enum store_state state, void *arg)
{
	struct server *srv = arg;

	/* Every (re)connect: the unmet deadlines are read again. */
	if (state == STORE_READY) {
		consents_load(srv->consents);
		corrections_load(srv->corrections);
		breakglass_load(srv->breakglass);
		deadlines_load(srv->deadlines);
	}
	if (state != STORE_READY || serving) {
		if (!srv->draining)
			notify_status(srv, "");
		return;
	}
	serving = 1;
	reload_audit_startup(srv);
	log_info("event=ready listen=%s:%d instance=%s policy=%s",
	    srv->cfg->listen_host, listener_port(srv->listener),
	    srv->cfg->instance, policy_version(srv->policy));
	if (ready_fd >= 0) {
		if (write(ready_fd, "READY\n", 6) != 6)
			log_warn("event=ready_fd_write_failed");
		close(ready_fd);
		ready_fd = -1;
	}
	notify_status(srv, "READY=1\n");
}

/*
 * At the first connect the instance name was held by another daemon: nwdd
 * refuses to start (exit status NWDD_EXIT_IN_USE), saying who holds it.
 */
static void
in_use_cb(const char *instance, const char *host, long pid,
    const char *since, void *arg)
{
	struct server *srv = arg;

	in_use = 1;
	if (host != NULL)
		log_warnx("event=instance_in_use instance=%s holder_host=%s "
		    "holder_pid=%ld holder_since=%s reason=\"instance %s is "
		    "held by the nwdd on host %s (pid %ld, started %s) on "
		    "this database; refusing to start a second daemon with "
		    "the same instance\"", instance, host, pid, since,
		    instance, host, pid, since);
	else
		log_warnx("event=instance_in_use instance=%s reason=\"instance "
		    "%s is held by another database session on this database "
		    "(no holder recorded); refusing to start a second daemon "
		    "with the same instance\"", instance, instance);
	notify_status(srv, "");
	event_base_loopexit(srv->base, NULL);
}

/*
 * The watchdog ping, from the event loop: a loop that stops turning stops
 * the pings by itself.  The database writer is checked too: while a round
 * trip has taken longer than db_stall_timeout no ping is sent, so systemd
 * restarts a daemon whose writer hangs (audit first: nothing is delivered
 * while the writer hangs anyway).
 */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	int64_t		 busy = store_busy_ms(srv->store);

	if (busy > (int64_t)srv->cfg->db_stall_timeout * 1000) {
		if (!watchdog_withheld) {
			watchdog_withheld = 1;
			log_warnx("event=watchdog_withheld reason=\"a database "
			    "round trip has taken %lld ms (db_stall_timeout "
			    "%u s)\"", (long long)busy,
			    srv->cfg->db_stall_timeout);
			notify_status(srv, "");
		}
		return;
	}
	if (watchdog_withheld) {
		watchdog_withheld = 0;
		log_info("event=watchdog_resumed");
		notify_status(srv, "");
	}
	sdnotify_send(notify, "WATCHDOG=1");
}

static int
watchdog_start(struct server *srv)
{
	uint64_t	usec = sdnotify_watchdog_usec(notify) / 2;
	struct timeval	tv;

	if (usec == 0)
		return 0;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	if ((watchdog_timer = event_new(srv->base, -1, EV_PERSIST,
	    watchdog_cb, srv)) == NULL || evtimer_add(watchdog_timer,
	    &tv) == -1)
		return -1;
	log_info("event=watchdog interval_ms=%llu db_stall_timeout=%u",
	    (unsigned long long)(usec / 1000), srv->cfg->db_stall_timeout);
	/* The first ping now: the loop is about to turn. */
	sdnotify_send(notify, "WATCHDOG=1");
	return 0;
}

/* 1 while a session has not yet flushed its Goodbye (or gone). */
static int
sessions_flushing(const struct server *srv)
{
	const struct session	*s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->state != SESSION_CLOSING || !s->half_closed)
			return 1;
	return 0;
}

/*
 * The drain, polled from the loop until it is done or drain_timeout has
 * passed.  FINISH: no session reads requests any more; wait until every
 * batch in flight is committed (or refused) and answered.  FLUSH: every
 * session has been sent a Goodbye and is closing; wait until each has
 * flushed its output and the last audit rows (the disconnects) are
 * committed.  Then the loop ends.
 */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct session	*s, *next;
	struct timeval	 tv = { 0, DRAIN_POLL_MS * 1000 };
	char		 reason[160];
	int		 late = clock_mono_ms() >= drain_deadline_ms;

	if (drain_phase == DRAIN_FINISH) {
		if (store_pending(srv->store) > 0 && !late) {
			evtimer_add(drain_timer, &tv);
			return;
		}
		if (store_pending(srv->store) > 0) {
			drain_lost = 1;
			log_warnx("event=drain_timeout phase=finish "
			    "pending_batches=%zu drain_timeout=%u",
			    store_pending(srv->store),
			    srv->cfg->drain_timeout);
		}
		snprintf(reason, sizeof(reason), "%s is stopping; reconnect "
		    "later", srv->cfg->instance);
		for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			session_goodbye(s, reason);
		}
		drain_phase = DRAIN_FLUSH;
		notify_status(srv, "");
	}
	if ((store_pending(srv->store) > 0 || sessions_flushing(srv)) &&
	    !late) {
		evtimer_add(drain_timer, &tv);
		return;
	}
	if (late && (store_pending(srv->store) > 0 || sessions_flushing(srv))) {
		if (store_pending(srv->store) > 0)
			drain_lost = 1;
		log_warnx("event=drain_timeout phase=flush "
		    "pending_batches=%zu sessions=%u drain_timeout=%u",
		    store_pending(srv->store), srv->nsessions,
		    srv->cfg->drain_timeout);
	}
	log_info("event=drained sessions=%u pending_batches=%zu",
	    srv->nsessions, store_pending(srv->store));
	event_base_loopexit(srv->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	struct session	*s, *next;
	struct timeval	 tv = { 0, 0 };
	int		 rc;

	if (sig == SIGHUP) {
		if (srv->draining) {
			log_info("event=reload_ignored reason=\"draining\"");
			return;
		}
		/* Before READY, systemd must not see a premature READY=1. */
		if (serving)
			sdnotify_send(notify, "RELOADING=1\nMONOTONIC_USEC=%llu\n"
			    "STATUS=reloading", (unsigned long long)
			    sdnotify_monotonic_usec());
		rc = reload_run(srv);
		if (rc == -1 && serving)
			sdnotify_send(notify, "READY=1\nSTATUS=reload refused "
			    "(see the log); serving with policy %s",
			    policy_version(srv->policy));
		else
			notify_status(srv, serving ? "READY=1\n" : "");
		return;
	}
	if (srv->draining)
		return;
	log_info("event=shutdown signal=%s sessions=%u pending_batches=%zu "
	    "drain_timeout=%u", sig == SIGTERM ? "TERM" : "INT",
	    srv->nsessions, store_pending(srv->store),
	    srv->cfg->drain_timeout);
	srv->draining = 1;
	notify_status(srv, "STOPPING=1\n");
	listener_disable(srv->listener);
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_drain(s);
	}
	drain_phase = DRAIN_FINISH;
	drain_deadline_ms = clock_mono_ms() + (int64_t)srv->cfg->drain_timeout * 1000;
	if ((drain_timer = evtimer_new(srv->base, drain_cb, srv)) != NULL)
		evtimer_add(drain_timer, &tv);
	else {
		drain_lost = store_pending(srv->store) > 0;
		event_base_loopexit(srv->base, NULL);
	}
}

/* test_clock: the file is read again; if time moved, deadlines act. */
static void
clock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (clock_reread())
		deadlines_clock_moved(srv->deadlines);
}

static int
check_policy_file(const char *path)
{
	struct policy	*p;
	char		 err[512];

	if ((p = reload_load_policy(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		return 1;
	}
	printf("%s: ok, %zu rules, version %s\n", path, policy_nrules(p),
	    policy_version(p));
	policy_free(p);
	return 0;
}

static void
server_free(struct server *srv)
{
	struct session *s;

	/* The store first: its last callbacks still look at sessions (and
	 * at the cluster, whose reads it was doing: stopped first). */
	cluster_stop(srv->cluster);
	store_free(srv->store);
	srv->store = NULL;
	cluster_free(srv->cluster);
	srv->cluster = NULL;
	anchor_free(srv->anchor);
	retention_free(srv->retention);
	durable_registry_free(srv->durables);
	sealer_free(srv->sealer);
	chain_signer_free(srv->signer);
	listener_free(srv->listener);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		TAILQ_REMOVE(&srv->sessions, s, entry);
		session_free(s);
	}
	while ((s = TAILQ_FIRST(&srv->zombies)) != NULL) {
		TAILQ_REMOVE(&srv->zombies, s, entry);
		session_free(s);
	}
	sessidx_free(srv->index);
	broker_free(srv->broker);
	deadlines_free(srv->deadlines);
	consents_free(srv->consents);
	corrections_free(srv->corrections);
	breakglass_free(srv->breakglass);
	calendar_free(srv->calendar);
	if (clock_timer != NULL)
		event_free(clock_timer);
	if (srv->reaper != NULL)
		event_free(srv->reaper);
	if (drain_timer != NULL)
		event_free(drain_timer);
	if (watchdog_timer != NULL)
		event_free(watchdog_timer);
	sdnotify_free(notify);
	policy_free(srv->policy);
	alloc_table_free(srv->allocs);
	identity_free(srv->ids);
	tls_ctx_free(srv->tls);
	config_free(srv->cfg);
	if (srv->base != NULL)
		event_base_free(srv->base);
}

/*
 * nwdd --accept-restore: reads the signing key, opens the state
 * directory, becomes the user nwdd runs as ("user"; started as root
 * without it, the owner of the state directory, which under systemd is
 * the unit's User=) and accepts the database's chain head (store.h).
 * Returns the exit status.
 */
static int
accept_restore(struct server *srv)
{
	const struct config	*cfg = srv->cfg;
	struct privdrop		 priv;
	struct passwd		*pw;
	struct stat		 sb;
	char			 err[1024], msg[2048], actor[128], owner[64];
	const char		*user = cfg->user;
	int			 r;

	/* Who accepted it, as the system knows the caller. */
	pw = getpwuid(getuid());
	snprintf(actor, sizeof(actor), "operator:%s", pw != NULL ?
	    pw->pw_name : "unknown");
	if (geteuid() == 0 && user[0] == '\0') {
		if (stat(cfg->state_directory, &sb) == -1 || sb.st_uid == 0 ||
		    (pw = getpwuid(sb.st_uid)) == NULL) {
			fprintf(stderr, "nwdd: --accept-restore: as root, set "
			    "\"user\" or let the user nwdd runs as own "
			    "state_directory %s\n", cfg->state_directory);
			return 1;
		}
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
		user = owner;
	}
	memset(&priv, 0, sizeof(priv));
	if (privdrop_plan(user, cfg->group, &priv, err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s: %s\n", cfg->path, err);
		return 1;
	}
	if ((srv->signer = chain_signer_load(cfg->audit_signing_key, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: --accept-restore: %s\n", err);
		return 1;
	}
	/* The files stay the user's that nwdd runs as. */
	if ((srv->anchor = anchor_open(cfg->state_directory, cfg->instance,
	    err, sizeof(err))) == NULL || (priv.switch_ids &&
	    anchor_give(srv->anchor, priv.uid, priv.gid, err,
	    sizeof(err)) == -1)) {
		fprintf(stderr, "nwdd: --accept-restore: %s\n", err);
		return 1;
	}
	if (privdrop_apply(&priv, err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: cannot drop privileges: %s\n", err);
		return 1;
	}
	r = store_accept_restore(cfg->database, cfg->instance, srv->signer,
	    srv->anchor, actor, msg, sizeof(msg));
	if (r == -1) {
		fprintf(stderr, "nwdd: --accept-restore: %s\n", msg);
		return 1;
	}
	printf("nwdd: %s\n", msg);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "check-policy", required_argument, NULL, 'P' },
		{ "migrate", no_argument, NULL, 'M' },
		{ "accept-restore", no_argument, NULL, 'A' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server	 srv;
	struct privdrop	 priv;
	struct event	*sigs[4] = { NULL, NULL, NULL, NULL };
	const int	 signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	const char	*cfgpath = NULL;
	char		 err[1024], *end;
	int		 ch, check = 0, migrate = 0, restore = 0, i, n;
	int		 rc = 1;

	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'P':
			return check_policy_file(optarg);
		case 'M':
			migrate = 1;
			break;
		case 'A':
			restore = 1;
			break;
		case 'R':
			ready_fd = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || ready_fd < 0) {
				fprintf(stderr, "nwdd: --ready-fd needs a file "
				    "descriptor number\n");
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nwdd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || cfgpath == NULL) {
		usage(stderr);
		return 1;
	}

	/* Before any key is read: no core file may hold one. */
	if (privdrop_no_core(err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s\n", err);
		return 1;
	}
	memset(&srv, 0, sizeof(srv));
	memset(&priv, 0, sizeof(priv));
	TAILQ_INIT(&srv.sessions);
	TAILQ_INIT(&srv.zombies);
	if (privdrop_check_config(cfgpath, err, sizeof(err)) == -1 ||
	    (srv.cfg = config_load(cfgpath, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		return 1;
	}
	log_set_level(srv.cfg->log_level);
	log_set_subjects(srv.cfg->log_subjects);

	if (migrate) {
		if (srv.cfg->migrate_database[0] == '\0') {
			fprintf(stderr, "nwdd: %s: migrate_database is not set; "
			    "--migrate needs the owner role's connection\n",
			    cfgpath);
			goto done;
		}
		n = migrate_run(srv.cfg->migrate_database,
		    srv.cfg->migrations_dir, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "nwdd: migrate: %s\n", err);
			goto done;
		}
		printf("nwdd: %d migration%s applied\n", n, n == 1 ? "" : "s");
		rc = 0;
		goto done;
	}

	if (restore) {
		rc = accept_restore(&srv);
		goto done;
	}
	/*
	 * Who to run as is settled before anything is loaded; --check-config
	 * (often run by an operator as root) checks only a configured user.
	 */
	if ((!check || srv.cfg->user[0] != '\0') &&
	    privdrop_plan(srv.cfg->user, srv.cfg->group, &priv, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s: %s\n", cfgpath, err);
		goto done;
	}
	/* A missing or unreadable file, named with the line that names it. */
	if (config_check_files(srv.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (privdrop_check_secret(srv.cfg->tls_key, err, sizeof(err)) == -1 ||
	    (srv.ids = identity_load(srv.cfg->principals, err,
	    sizeof(err))) == NULL ||
	    (srv.policy = reload_load_policy(srv.cfg->policy, err,
	    sizeof(err))) == NULL ||
	    (srv.tls = tls_ctx_new(srv.cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (policy_check_principals(srv.policy, srv.ids, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s and %s disagree: %s\n",
		    srv.cfg->policy, srv.cfg->principals, err);
		goto done;
	}
	if (reload_load_calendar(srv.cfg, srv.policy, &srv.calendar, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (srv.cfg->test_clock != NULL && clock_use_file(srv.cfg->test_clock,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: test_clock: %s\n", err);
		goto done;
	}
	if (load_keys(&srv, err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (check) {
		printf("%s: ok; policy %s (%zu rules), %zu principals\n",
		    cfgpath, policy_version(srv.policy),
		    policy_nrules(srv.policy), identity_count(srv.ids));
		/* The database too: the configuration is sound, but nwdd
		 * would wait for a database it cannot reach (exit 4). */
		if (store_check_database(srv.cfg->database, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "nwdd: %s:%d: database: %s\n", cfgpath,
			    config_line(srv.cfg, "database"), err);
			rc = 4;
			goto done;
		}
		printf("%s:%d: database: %s\n", cfgpath,
		    config_line(srv.cfg, "database"), err);
		rc = 0;
		goto done;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((srv.base = event_base_new()) == NULL ||
	    (srv.reaper = event_new(srv.base, -1, 0, reaper_cb, &srv)) ==
	    NULL || (srv.broker = broker_new(&srv)) == NULL ||
	    (srv.deadlines = deadlines_new(&srv)) == NULL ||
	    (srv.consents = consents_new(&srv)) == NULL ||
	    (srv.corrections = corrections_new(&srv)) == NULL ||
	    (srv.breakglass = breakglass_new(&srv)) == NULL ||
	    (clock_is_test() && (clock_timer = event_new(srv.base, -1,
	    EV_PERSIST, clock_cb, &srv)) == NULL)) {
		fprintf(stderr, "nwdd: cannot set up the event loop\n");
		goto done;
	}
	deadlines_set_sender(srv.deadlines, broker_publish_system, srv.broker);
	consents_set_sender(srv.consents, broker_publish_system, srv.broker);
	corrections_set_sender(srv.corrections, broker_publish_system,
	    srv.broker);
	breakglass_set_sender(srv.breakglass, broker_publish_system,
	    srv.broker);
	if (clock_timer != NULL) {
		struct timeval tv = { 0, 50 * 1000 };

		log_warnx("event=test_clock file=%s now=%" PRId64 " reason=\"the "
		    "wall clock is read from a file: for tests only, never in "
		    "service\"", srv.cfg->test_clock, clock_wall_ms());
		evtimer_add(clock_timer, &tv);
	}
	replay_set_budget(srv.cfg->replay_max_bytes);
	/* The sessions hand their requests up to the broker. */
	srv.on_request = broker_handle;
	srv.on_request_arg = srv.broker;
	if ((srv.listener = listener_new(&srv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (srv.cfg->metrics_host[0] != '\0' &&
	    (httpd = httpd_new(&srv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if (srv.cfg->console_host[0] != '\0' &&
	    (srv.console = console_new(&srv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	if ((notify = sdnotify_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "nwdd: %s\n", err);
		goto done;
	}
	/*
	 * The chain's anchor outside the database, refused if another
	 * process holds it; its files are the user's that nwdd becomes.
	 */
	if ((srv.anchor = anchor_open(srv.cfg->state_directory,
	    srv.cfg->instance, err, sizeof(err))) == NULL ||
	    (priv.switch_ids && anchor_give(srv.anchor, priv.uid, priv.gid,
	    err, sizeof(err)) == -1)) {
		fprintf(stderr, "nwdd: %s: state_directory: %s\n", cfgpath,
		    err);
		goto done;
	}
	/* Bound and keys read: nothing more needs root. */
	if (privdrop_apply(&priv, err, sizeof(err)) == -1 ||
	    privdrop_no_core(err, sizeof(err)) == -1) {
		fprintf(stderr, "nwdd: cannot drop privileges: %s\n", err);
		goto done;
	}
	if (priv.switch_ids)
		log_info("event=privileges_dropped user=%s group=%s uid=%u "
		    "gid=%u", priv.user, priv.group, (unsigned int)priv.uid,
		    (unsigned int)priv.gid);
	else if (priv.keep_root)
		log_warnx("event=running_as_root reason=\"user = root in %s\"",
		    cfgpath);

	srv.store = store_new(srv.base, srv.cfg->database, srv.cfg->instance,
	    srv.cfg->store_queue_max, srv.cfg->db_reconnect_max);
	if ((srv.allocs = alloc_table_new()) == NULL ||
	    (srv.durables = durable_registry_new()) == NULL) {
		fprintf(stderr, "nwdd: out of memory\n");
		goto done;
	}
	if (srv.store != NULL) {
		store_set_anchor(srv.store, srv.anchor);
		store_set_allocations_cb(srv.store, allocations_cb, &srv);
		store_set_subscriptions_cb(srv.store, subscriptions_cb, &srv);
		store_set_hold(srv.store, srv.cfg->store_hold_max_bytes);
		store_set_in_use_cb(srv.store, in_use_cb, &srv);
		store_set_checkpoints(srv.store, srv.signer,
		    srv.cfg->checkpoint_rows,
		    srv.cfg->checkpoint_interval * 1000);
	}
	if (srv.store == NULL || store_start(srv.store, store_state_cb,
	    &srv) == -1) {
		fprintf(stderr, "nwdd: cannot start the audit store\n");
		goto done;
	}
	/* The other instances on the database (cluster.h). */
	if ((srv.cluster = cluster_new(&srv)) == NULL ||
	    cluster_start(srv.cluster) == -1) {
		fprintf(stderr, "nwdd: cannot start the cluster's "
		    "connection\n");
		goto done;
	}
	srv.on_subs = cluster_subs_changed;
	srv.on_subs_arg = srv.cluster;
	if ((srv.retention = retention_start(&srv)) == NULL) {
		fprintf(stderr, "nwdd: cannot start the retention timer\n");
		goto done;
	}
	for (i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(srv.base, signums[i], signal_cb, &srv);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1) {
			fprintf(stderr, "nwdd: cannot handle signal %d\n",
			    signums[i]);
			goto done;
		}
	}
	if (watchdog_start(&srv) == -1) {
		fprintf(stderr, "nwdd: cannot start the watchdog timer\n");
		goto done;
	}
	log_info("event=start instance=%s listen=%s:%d policy=%s rules=%zu "
	    "principals=%zu", srv.cfg->instance, srv.cfg->listen_host,
	    listener_port(srv.listener), policy_version(srv.policy),
	    policy_nrules(srv.policy), identity_count(srv.ids));
	notify_status(&srv, "");
	event_base_dispatch(srv.base);
	log_info("event=stopped%s", in_use ? " reason=\"instance_in_use\"" :
	    drain_lost ? " reason=\"drain_timeout: "
	    "batches left unanswered\"" : "");
	rc = in_use ? NWDD_EXIT_IN_USE : drain_lost ? 1 : 0;
done:
	for (i = 0; i < 4; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	httpd_free(httpd);
	console_free(srv.console);
	srv.console = NULL;
	server_free(&srv);
	return rc;
}
