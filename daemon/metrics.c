#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "nwd.pb-c.h"

struct series {
	struct series	*next;		/* owned */
	char		*lv;		/* owned label value; NULL = no label */
	double		 value;		/* counter or gauge */
	uint64_t	*buckets;	/* owned; histogram, nbounds + 1 */
	double		 sum;
	uint64_t	 count;
};

struct metrics_family {
	struct metrics_family	*next;		/* owned */
	enum metrics_type	 type;
	char			*name;		/* owned */
	char			*help;		/* owned */
	char			*label;		/* owned; NULL = none */
	double			*bounds;	/* owned; histogram */
	size_t			 nbounds;
	struct series		*first;		/* owned list */
	struct series		**tail;
};

struct metrics {
	struct metrics_family	*first;		/* owned list */
	struct metrics_family	**tail;
};

static struct series *series_get(struct metrics_family *, const char *);

struct metrics *
metrics_new(void)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->tail = &m->first;
	return m;
}

static void
series_free(struct series *s)
{
	free(s->lv);
	free(s->buckets);
	free(s);
}

void
metrics_clear(struct metrics_family *f)
{
	struct series *s;

	if (f == NULL)
		return;
	while ((s = f->first) != NULL) {
		f->first = s->next;
		series_free(s);
	}
	f->tail = &f->first;
}

void
metrics_free(struct metrics *m)
{
	struct metrics_family *f;

	if (m == NULL)
		return;
	while ((f = m->first) != NULL) {
		m->first = f->next;
		metrics_clear(f);
		free(f->name);
		free(f->help);
		free(f->label);
		free(f->bounds);
		free(f);
	}
	free(m);
}

struct metrics_family *
metrics_family_new(struct metrics *m, enum metrics_type type,
    const char *name, const char *help, const char *label,
    const double *bounds, size_t nbounds)
{
	struct metrics_family	*f;
	size_t			 i;

	for (i = 1; i < nbounds; i++)
		if (!(bounds[i - 1] < bounds[i]))
			return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->type = type;
	f->tail = &f->first;
	if ((f->name = strdup(name)) == NULL ||
	    (f->help = strdup(help)) == NULL ||
	    (label != NULL && (f->label = strdup(label)) == NULL))
		goto bad;
	if (type == METRICS_HISTOGRAM && nbounds > 0) {
		if ((f->bounds = calloc(nbounds, sizeof(double))) == NULL)
			goto bad;
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
		f->nbounds = nbounds;
	}
	/* A family without a label has its one series from the start. */
	if (label == NULL && series_get(f, NULL) == NULL)
		goto bad;
	*m->tail = f;
	m->tail = &f->next;
	return f;
bad:
	metrics_clear(f);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f->label);
	free(f);
	return NULL;
}

/* The series of f with label value lv, created at 0 if new; NULL if lv
 * does not suit the family or memory ran out. */
static struct series *
series_get(struct metrics_family *f, const char *lv)
{
	struct series *s;

	if (f == NULL || (lv == NULL) != (f->label == NULL))
		return NULL;
	for (s = f->first; s != NULL; s = s->next)
		if (lv == NULL || strcmp(s->lv, lv) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((lv != NULL && (s->lv = strdup(lv)) == NULL) ||
	    (f->type == METRICS_HISTOGRAM && (s->buckets = calloc(
	    f->nbounds + 1, sizeof(uint64_t))) == NULL)) {
		series_free(s);
		return NULL;
	}
	*f->tail = s;
	f->tail = &s->next;
	return s;
}

int
metrics_add(struct metrics_family *f, const char *lv, double by)
{
	struct series *s;

	if (f == NULL || f->type == METRICS_HISTOGRAM ||
	    (s = series_get(f, lv)) == NULL)
		return -1;
	s->value += by;
	return 0;
}

int
metrics_set(struct metrics_family *f, const char *lv, double v)
{
	struct series *s;

	if (f == NULL || f->type != METRICS_GAUGE ||
	    (s = series_get(f, lv)) == NULL)
		return -1;
	s->value = v;
	return 0;
}

int
metrics_observe(struct metrics_family *f, const char *lv, double v)
{
	struct series	*s;
	size_t		 i;

	if (f == NULL || f->type != METRICS_HISTOGRAM ||
	    (s = series_get(f, lv)) == NULL)
		return -1;
	for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
		;
	s->buckets[i]++;
	s->sum += v;
	s->count++;
	return 0;
}

void
metrics_zero(struct metrics_family *f)
{
	struct series *s;

	if (f == NULL || f->type != METRICS_GAUGE)
		return;
	for (s = f->first; s != NULL; s = s->next)
		s->value = 0;
}

/* The shortest decimal that reads back as v; integers without a point. */
static void
put_number(FILE *fp, double v)
{
	char	buf[40];
	int	prec;

	if (isnan(v)) {
		fputs("NaN", fp);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", fp);
		return;
	}
	if (v == 0) {
		fputs("0", fp);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		fprintf(fp, "%.0f", v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*g", prec, v);
	fputs(buf, fp);
}

/* Writes s with backslash and newline escaped, and '"' too if quote. */
static void
put_escaped(FILE *fp, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '"' && quote)
			fputs("\\\"", fp);
		else
			fputc(*s, fp);
	}
}

/* name{label="lv",le="bound"}, the braces left out when there is neither. */
static void
put_name(FILE *fp, const struct metrics_family *f, const char *suffix,
    const struct series *s, const double *le)
{
	fputs(f->name, fp);
	fputs(suffix, fp);
	if (f->label == NULL && le == NULL)
		return;
	fputc('{', fp);
	if (f->label != NULL) {
		fprintf(fp, "%s=\"", f->label);
		put_escaped(fp, s->lv, 1);
		fputc('"', fp);
	}
	if (le != NULL) {
		fprintf(fp, "%sle=\"", f->label != NULL ? "," : "");
		put_number(fp, *le);
		fputc('"', fp);
	}
	fputc('}', fp);
}

static void
render_family(FILE *fp, const struct metrics_family *f)
{
	static const char *types[] = { "counter", "gauge", "histogram" };
	const struct series	*s;
	const double		 inf = INFINITY;
	uint64_t		 cum;
	size_t			 i;

	fprintf(fp, "# HELP %s ", f->name);
	put_escaped(fp, f->help, 0);
	fprintf(fp, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (s = f->first; s != NULL; s = s->next) {
		if (f->type != METRICS_HISTOGRAM) {
			put_name(fp, f, "", s, NULL);
			fputc(' ', fp);
			put_number(fp, s->value);
			fputc('\n', fp);
			continue;
		}
		for (cum = 0, i = 0; i <= f->nbounds; i++) {
			cum += s->buckets[i];
			put_name(fp, f, "_bucket", s,
			    i < f->nbounds ? &f->bounds[i] : &inf);
			fprintf(fp, " %llu\n", (unsigned long long)cum);
		}
		put_name(fp, f, "_sum", s, NULL);
		fputc(' ', fp);
		put_number(fp, s->sum);
		fputc('\n', fp);
		put_name(fp, f, "_count", s, NULL);
		fprintf(fp, " %llu\n", (unsigned long long)s->count);
	}
}

char *
metrics_render(const struct metrics *m, size_t *lenp)
{
	const struct metrics_family	*f;
	FILE				*fp;
	char				*buf = NULL;
	size_t				 len = 0;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	for (f = m->first; f != NULL; f = f->next)
		render_family(fp, f);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/* ---- nwdd's registry ----------------------------------------------------- */

static struct {
	struct metrics		*m;
	struct metrics_family	*sessions, *publishes, *deliveries, *refusals;
	struct metrics_family	*txn_batches, *txn_rows, *commit, *wait;
	struct metrics_family	*publish_seconds;
	struct metrics_family	*store_state, *store_queue, *store_queue_max;
	struct metrics_family	*durable_unacked, *policy;
	struct metrics_family	*cluster_peers, *cluster_mismatch;
	struct metrics_family	*deadlines_open, *deadlines_breached;
	struct metrics_family	*tls_not_after, *crl_next;
	struct metrics_family	*rss, *fds, *start_time;
	struct metrics_family	*p_cpu, *p_rss, *p_vsize, *p_fds, *p_max_fds;
	struct metrics_family	*p_start, *build_info;
} reg;

static const char *publish_outcomes[] = {
	"acked", "refused", "invalid", "unavailable", "failed",
};

/* Listed so that each series exists, at 0, from the start. */
static const char *refusal_reasons[] = {
	/* connections */
	"tls_unknown_ca", "tls_revoked", "tls_expired", "tls_no_cert",
	"tls_verify", "tls_handshake", "identity", "unmapped",
	"max_connections", "max_connections_principal", "handshake_timeout",
	/* sessions */
	"frame_oversize", "frame_malformed", "protocol", "slow_consumer",
	"idle_timeout", "max_subscriptions", "max_durable",
	/* publishes */
	"policy", "clearance", "no_recipients", "envelope_invalid",
	"store_unavailable", "in_flight", "queue_bytes",
};

static const char *store_states[] = { "disconnected", "connecting", "ready" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

int
metrics_init(void)
{
	static const double batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128,
	    256, 512 };
	static const double row_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256,
	    512, 1024, 4096 };
	static const double commit_bounds[] = { 0.0005, 0.001, 0.002, 0.003,
	    0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	    10 };
	struct metrics	*m;
	size_t		 i;

	if (reg.m != NULL)
		return 0;
	if ((m = reg.m = metrics_new()) == NULL)
		return -1;
	if ((reg.sessions = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_sessions", "Client sessions open now, by the role of their "
	    "principal (unauthenticated: TLS or Hello not finished).", "role",
	    NULL, 0)) == NULL ||
	    (reg.publishes = metrics_family_new(m, METRICS_COUNTER,
	    "nwd_publishes_total", "Publish requests by outcome: acked "
	    "(audited, delivered, acknowledged), refused (policy, clearance, "
	    "no recipient), invalid (envelope), unavailable (audit store), "
	    "failed (internal).", "outcome", NULL, 0)) == NULL ||
	    (reg.deliveries = metrics_family_new(m, METRICS_COUNTER,
	    "nwd_deliveries_total", "Deliver frames sent to subscribers, live "
	    "and durable replay.", NULL, NULL, 0)) == NULL ||
	    (reg.refusals = metrics_family_new(m, METRICS_COUNTER,
	    "nwd_refusals_total", "Connections, frames and requests refused, "
	    "by reason.", "reason", NULL, 0)) == NULL ||
	    (reg.txn_batches = metrics_family_new(m, METRICS_HISTOGRAM,
	    "nwd_store_txn_batches", "Batches (publishes and other audited "
	    "events) committed per database transaction.", NULL, batch_bounds,
	    NELEM(batch_bounds))) == NULL ||
	    (reg.txn_rows = metrics_family_new(m, METRICS_HISTOGRAM,
	    "nwd_store_txn_audit_rows", "Audit rows committed per database "
	    "transaction.", NULL, row_bounds, NELEM(row_bounds))) == NULL ||
	    (reg.commit = metrics_family_new(m, METRICS_HISTOGRAM,
	    "nwd_store_commit_seconds", "Time COMMIT of one audit transaction "
	    "took, in seconds.", NULL, commit_bounds,
	    NELEM(commit_bounds))) == NULL ||
	    (reg.wait = metrics_family_new(m, METRICS_HISTOGRAM,
	    "nwd_store_wait_seconds", "Time a batch (a publish and its audit "
	    "rows, or other audited events) waited in the store's queue for "
	    "the transaction that carries it to be sent, in seconds.", NULL,
	    commit_bounds, NELEM(commit_bounds))) == NULL ||
	    (reg.publish_seconds = metrics_family_new(m, METRICS_HISTOGRAM,
	    "nwd_publish_seconds", "Time from a Publish read to its "
	    "deliveries and PublishAck queued for sending (policy, audit "
	    "batch, COMMIT, fan-out), in seconds.", NULL, commit_bounds,
	    NELEM(commit_bounds))) == NULL ||
	    (reg.store_state = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_store_state", "State of the audit store's database "
	    "connection: 1 for the current state, 0 for the others.", "state",
	    NULL, 0)) == NULL ||
	    (reg.store_queue = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_store_queue_batches", "Batches queued for or in flight to "
	    "the database.", NULL, NULL, 0)) == NULL ||
	    (reg.store_queue_max = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_store_queue_max_batches", "store_queue_max: past it "
	    "publishes are refused.", NULL, NULL, 0)) == NULL ||
	    (reg.cluster_peers = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_cluster_peers", "Other nwdd instances live on the same "
	    "database.", NULL, NULL, 0)) == NULL ||
	    (reg.cluster_mismatch = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_cluster_policy_mismatch", "1 while a live instance decides "
	    "with another policy version (publishes are refused once it "
	    "lasts longer than a reload takes), else 0.", NULL, NULL,
	    0)) == NULL ||
	    (reg.durable_unacked = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_durable_unacked", "Durable deliveries sent to connected "
	    "subscribers and not yet acknowledged (the backlog of "
	    "disconnected subscribers is in nwd.deliveries).", NULL, NULL,
	    0)) == NULL ||
	    (reg.deadlines_open = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_deadlines_open", "Statutory deadlines not yet met, by "
	    "state (open: not yet due or due now; breached: escalated).",
	    "state", NULL, 0)) == NULL ||
	    (reg.deadlines_breached = metrics_family_new(m, METRICS_COUNTER,
	    "nwd_deadlines_breached_total", "Deadlines that passed unmet, "
	    "by rule.", "rule", NULL, 0)) == NULL ||
	    (reg.policy = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_policy_info", "The sharing policy in force, by version.",
	    "version", NULL, 0)) == NULL ||
	    (reg.tls_not_after = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_tls_cert_not_after_timestamp_seconds", "When the server "
	    "certificate and the client CA certificate expire, Unix time.",
	    "cert", NULL, 0)) == NULL ||
	    (reg.crl_next = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_tls_crl_next_update_timestamp_seconds", "When the CRL "
	    "(tls_crl) must be replaced (its nextUpdate), Unix time.", NULL,
	    NULL, 0)) == NULL ||
	    (reg.rss = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_process_resident_memory_bytes", "Resident memory of nwdd.",
	    NULL, NULL, 0)) == NULL ||
	    (reg.fds = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_process_open_fds", "File descriptors nwdd holds open.",
	    NULL, NULL, 0)) == NULL ||
	    (reg.start_time = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_process_start_time_seconds", "When nwdd started, Unix "
	    "time.", NULL, NULL, 0)) == NULL ||
	    (reg.p_cpu = metrics_family_new(m, METRICS_COUNTER,
	    "process_cpu_seconds_total", "Total user and system CPU time "
	    "spent in seconds.", NULL, NULL, 0)) == NULL ||
	    (reg.p_rss = metrics_family_new(m, METRICS_GAUGE,
	    "process_resident_memory_bytes", "Resident memory size in bytes.",
	    NULL, NULL, 0)) == NULL ||
	    (reg.p_vsize = metrics_family_new(m, METRICS_GAUGE,
	    "process_virtual_memory_bytes", "Virtual memory size in bytes.",
	    NULL, NULL, 0)) == NULL ||
	    (reg.p_fds = metrics_family_new(m, METRICS_GAUGE,
	    "process_open_fds", "Number of open file descriptors.", NULL,
	    NULL, 0)) == NULL ||
	    (reg.p_max_fds = metrics_family_new(m, METRICS_GAUGE,
	    "process_max_fds", "Maximum number of open file descriptors.",
	    NULL, NULL, 0)) == NULL ||
	    (reg.p_start = metrics_family_new(m, METRICS_GAUGE,
	    "process_start_time_seconds", "Start time of the process since "
	    "unix epoch in seconds.", NULL, NULL, 0)) == NULL ||
	    (reg.build_info = metrics_family_new(m, METRICS_GAUGE,
	    "nwd_build_info", "1, labelled with the version of nwdd "
	    "running.", "version", NULL, 0)) == NULL)
		goto bad;
	for (i = 0; i < NELEM(publish_outcomes); i++)
		if (metrics_add(reg.publishes, publish_outcomes[i], 0) == -1)
			goto bad;
	for (i = 0; i < NELEM(refusal_reasons); i++)
		if (metrics_add(reg.refusals, refusal_reasons[i], 0) == -1)
			goto bad;
	for (i = 0; i < NELEM(store_states); i++)
		if (metrics_set(reg.store_state, store_states[i], 0) == -1)
			goto bad;
	return 0;
bad:
	metrics_shutdown();
	return -1;
}

void
metrics_shutdown(void)
{
	metrics_free(reg.m);
	memset(&reg, 0, sizeof(reg));
}

char *
metrics_render_daemon(size_t *lenp)
{
	return reg.m != NULL ? metrics_render(reg.m, lenp) : NULL;
}

void
metrics_publish(const char *outcome)
{
	metrics_add(reg.publishes, outcome, 1);
}

void
metrics_refusal(const char *reason)
{
	metrics_add(reg.refusals, reason, 1);
}

void
metrics_delivery(void)
{
	metrics_add(reg.deliveries, NULL, 1);
}

void
metrics_publish_refused(int code, const char *rule)
{
	switch (code) {
	case NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE:
		metrics_publish("invalid");
		metrics_refusal("envelope_invalid");
		break;
	case NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE:
		metrics_publish("unavailable");
		metrics_refusal("store_unavailable");
		break;
	case NWD__V1__ERROR_CODE__ERROR_FORBIDDEN:
		metrics_publish("refused");
		if (rule != NULL && strcmp(rule, "clearance") == 0)
			metrics_refusal("clearance");
		else if (rule != NULL && strcmp(rule, "no-dead-letters") == 0)
			metrics_refusal("no_recipients");
		else
			metrics_refusal("policy");
		break;
	default:
		metrics_publish("failed");
		break;
	}
}

const char *
metrics_tls_reason(const char *reason)
{
	static const struct {
		const char *text, *name;
	} map[] = {
		{ "unable to get local issuer certificate", "tls_unknown_ca" },
		{ "unable to get issuer certificate", "tls_unknown_ca" },
		{ "self-signed certificate", "tls_unknown_ca" },
		{ "self signed certificate", "tls_unknown_ca" },
		{ "certificate revoked", "tls_revoked" },
		{ "certificate has expired", "tls_expired" },
		{ "did not return a certificate", "tls_no_cert" },
		{ "certificate required", "tls_no_cert" },
		{ "certificate verify failed", "tls_verify" },
	};
	size_t i;

	for (i = 0; i < NELEM(map); i++)
		if (strstr(reason, map[i].text) != NULL)
			return map[i].name;
	return "tls_handshake";
}

void
metrics_txn(size_t batches, size_t rows, double commit_seconds)
{
	metrics_observe(reg.txn_batches, NULL, (double)batches);
	metrics_observe(reg.txn_rows, NULL, (double)rows);
	metrics_observe(reg.commit, NULL, commit_seconds);
}

void
metrics_store_wait(double seconds)
{
	metrics_observe(reg.wait, NULL, seconds);
}

void
metrics_publish_seconds(double seconds)
{
	metrics_observe(reg.publish_seconds, NULL, seconds);
}

void
metrics_store_state(const char *state_name)
{
	metrics_zero(reg.store_state);
	metrics_set(reg.store_state, state_name, 1);
}

void
metrics_store_queue(size_t depth)
{
	metrics_set(reg.store_queue, NULL, (double)depth);
}

void
metrics_store_queue_max(size_t max)
{
	metrics_set(reg.store_queue_max, NULL, (double)max);
}

void
metrics_sessions_reset(void)
{
	metrics_zero(reg.sessions);
}

void
metrics_sessions_add(const char *role, double n)
{
	metrics_add(reg.sessions, role != NULL ? role : "unauthenticated", n);
}

void
metrics_deadlines(uint64_t open, uint64_t breached)
{
	metrics_set(reg.deadlines_open, "open", (double)(open - breached));
	metrics_set(reg.deadlines_open, "breached", (double)breached);
}

void
metrics_deadline_breached(const char *rule)
{
	metrics_add(reg.deadlines_breached, rule, 1);
}

void
metrics_cluster(size_t peers, int mismatch)
{
	metrics_set(reg.cluster_peers, NULL, (double)peers);
	metrics_set(reg.cluster_mismatch, NULL, mismatch ? 1.0 : 0.0);
}

void
metrics_durable_unacked(size_t n)
{
	metrics_set(reg.durable_unacked, NULL, (double)n);
}

void
metrics_policy(const char *version)
{
	metrics_clear(reg.policy);
	metrics_set(reg.policy, version, 1);
}

void
metrics_tls(time_t cert_not_after, time_t ca_not_after,
    time_t crl_next_update)
{
	metrics_clear(reg.tls_not_after);
	metrics_clear(reg.crl_next);
	if (cert_not_after != 0)
		metrics_set(reg.tls_not_after, "server",
		    (double)cert_not_after);
	if (ca_not_after != 0)
		metrics_set(reg.tls_not_after, "ca", (double)ca_not_after);
	if (crl_next_update != 0)
		metrics_set(reg.crl_next, NULL, (double)crl_next_update);
}

void
metrics_process(const struct metrics_process_figures *pf)
{
	struct series *s;

	if (pf->rss_bytes >= 0) {
		metrics_set(reg.rss, NULL, pf->rss_bytes);
		metrics_set(reg.p_rss, NULL, pf->rss_bytes);
	}
	if (pf->open_fds >= 0) {
		metrics_set(reg.fds, NULL, pf->open_fds);
		metrics_set(reg.p_fds, NULL, pf->open_fds);
	}
	if (pf->start_time >= 0) {
		metrics_set(reg.start_time, NULL, pf->start_time);
		metrics_set(reg.p_start, NULL, pf->start_time);
	}
	if (pf->vsize_bytes >= 0)
		metrics_set(reg.p_vsize, NULL, pf->vsize_bytes);
	if (pf->max_fds >= 0)
		metrics_set(reg.p_max_fds, NULL, pf->max_fds);
	/* A counter read from the kernel, not counted here: set, never
	 * lowered. */
	if (pf->cpu_seconds >= 0 && (s = series_get(reg.p_cpu, NULL)) != NULL &&
	    pf->cpu_seconds > s->value)
		s->value = pf->cpu_seconds;
}

void
metrics_build_info(const char *version)
{
	metrics_clear(reg.build_info);
	metrics_set(reg.build_info, version, 1);
}
